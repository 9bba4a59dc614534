"""The only part of gandash that imports streamlit: figures and widgets shared by the pages."""
