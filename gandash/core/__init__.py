"""The ground floor: errors, the data folder and atomic file writing, the device choice, image files and
the run config (TrainConfig). Imports nothing else of gandash and no torch-heavy module but `device`."""
