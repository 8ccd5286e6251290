import pytest

from training.config import ConfigError
from training.configure import build_config
from training.families import FAMILIES
from training.presets import PRESETS, get_preset


def test_unknown_family_fails_with_valid_list() -> None:
    with pytest.raises(
        ConfigError, match="valid families: gan, dcgan, wgan, wgan-gp, cgan, selfcond, pix2pix, cyclegan"
    ):
        build_config({"family": "stylegan"})


def test_family_defaults_apply_and_later_layers_win() -> None:
    cfg = build_config({"family": "wgan-gp"})
    assert (cfg.lr_g, cfg.beta1, cfg.beta2, cfg.n_critic, cfg.gp_weight, cfg.loss) == (
        1e-4,
        0.0,
        0.9,
        5,
        10.0,
        "wasserstein",
    )
    cfg = build_config({"family": "wgan-gp", "n_critic": 2}, {"n_critic": 3, "seed": None})
    assert cfg.n_critic == 3 and cfg.seed == 0
    assert cfg.name == "wgan-gp"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"family": "gan", "loss": "hinge"}, "supports loss nonsaturating | minimax"),
        ({"family": "pix2pix"}, "needs --data .* or --task"),
        ({"family": "pix2pix", "task": "thicken"}, "needs a paired task: lowres"),
        ({"family": "cyclegan", "task": "lowres"}, "needs a unpaired task: thicken"),
        ({"family": "dcgan", "task": "lowres"}, "takes no task"),
        ({"family": "dcgan", "batch_size": 1}, "at least 2"),
        ({"family": "dcgan", "ema_decay": 1.5}, "ema_decay"),
        ({"family": "dcgan", "label_smoothing": 0.7}, "label_smoothing"),
        ({"family": "dcgan", "stepz": 3}, "unknown setting"),
    ],
)
def test_invalid_settings_say_what_to_fix(settings: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_config(settings)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_are_valid_configs(name: str) -> None:
    cfg = build_config(get_preset(name))
    assert cfg.family in FAMILIES and cfg.export_dir == "models"


def test_unknown_preset_lists_valid_ones() -> None:
    with pytest.raises(ValueError, match="dcgan-mnist"):
        get_preset("nope")
