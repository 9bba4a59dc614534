from gandash.variants import settings as variant_settings


def names(settings) -> list[str]:
    return [setting.name for setting in settings]


def test_settings_particular_to_a_variant_come_from_its_recipe_and_its_nets():
    assert names(variant_settings.particular("wgan-gp")) == ["gp_weight", "extra_convs"]  # its nets read it
    assert names(variant_settings.particular("wgan")) == ["clip_value", "optimizer", "extra_convs"]
    assert names(variant_settings.particular("toy")) == ["pack", "generators", "spectral_norm"]  # read by the toy nets
    assert names(variant_settings.particular("dcgan")) == ["extra_convs"]  # its recipe sets it
    assert variant_settings.particular("vanilla") == []  # MLP nets


def test_settings_the_training_step_reads_also_apply():
    assert {"r1_weight", "gp_weight", "clip_value", "optimizer"} <= set(names(variant_settings.also_applies("dcgan")))
    assert "gp_weight" not in names(variant_settings.also_applies("wgan-gp"))  # already particular
    staged = set(names(variant_settings.also_applies("infogan")))
    assert "clip_value" in staged and "r1_weight" not in staged  # the staged step clips, has no R1 term
    assert "r1_weight" not in names(variant_settings.also_applies("deblur"))
