"""The bad-input suite (issue 15, item 10): every bad input is one line, of resdepth's own error
classes, that names what is wrong, and nothing is stored. Config fields, model arguments, chapter
settings and the command line; data files, checkpoints and stored results have their own tests
(test_data, test_train, test_store)."""

import math

import pytest

from resdepth.config import RunConfig
from resdepth.errors import ResdepthError
from resdepth.experiments import resolve

TOWER = dict(model="tower", model_args=dict(depth=2, width=4), dataset="sample", epochs=1)


def config(**changes):
    return RunConfig(**{**TOWER, **changes})


CONFIG_CASES = [  # (changes to a valid config, a phrase the one-line error must contain)
    (dict(epochs=0), "epochs/steps must be an integer >= 1"),
    (dict(epochs=-1), "epochs/steps must be an integer >= 1"),
    (dict(epochs=1.5), "epochs/steps must be an integer >= 1"),
    (dict(epochs=True), "epochs/steps must be an integer >= 1"),
    (dict(epochs=None, steps=True), "epochs/steps must be an integer >= 1"),
    (dict(epochs=None, steps="10"), "epochs/steps must be an integer >= 1"),
    (dict(steps=10), "give exactly one of epochs and steps"),
    (dict(epochs=None), "give exactly one of epochs and steps"),
    (dict(lr=0), "lr must be"),
    (dict(lr=-0.1), "lr must be"),
    (dict(lr=math.nan), "lr must be"),
    (dict(lr=math.inf), "lr must be"),
    (dict(lr=1e300), "lr must be"),
    (dict(momentum=-0.1), "momentum must lie in [0, 1)"),
    (dict(momentum=1.0), "momentum must lie in [0, 1)"),
    (dict(momentum=math.nan), "momentum must lie in [0, 1)"),
    (dict(weight_decay=-1), "weight_decay must be"),
    (dict(weight_decay=math.nan), "weight_decay must be"),
    (dict(weight_decay=math.inf), "weight_decay must be"),
    (dict(gamma=0), "gamma"),
    (dict(gamma=math.nan), "gamma"),
    (dict(milestones=(0.0,)), "milestones must be fractions"),
    (dict(milestones=(1.0,)), "milestones must be fractions"),
    (dict(milestones=(0.5, 2)), "milestones must be fractions"),
    (dict(warmup_steps=-1), "warmup_steps must be an integer >= 0"),
    (dict(warmup_steps=1.5), "warmup_steps must be an integer >= 0"),
    (dict(seed=-1), "seed must be an integer in [0, 2^63)"),
    (dict(seed=2**63), "seed must be an integer in [0, 2^63)"),
    (dict(seed=1.0), "seed must be an integer in [0, 2^63)"),
    (dict(seed=True), "seed must be an integer in [0, 2^63)"),
    (dict(train_images=0), "train_images must be an integer >= 1"),
    (dict(train_images=-5), "train_images must be an integer >= 1"),
    (dict(train_images=True), "train_images must be an integer >= 1"),
    (dict(augment="no"), "augment must be true or false"),
    (dict(augment=1), "augment must be true or false"),
    (dict(batch_size=0), "batch_size must be an integer >= 1"),
    (dict(batch_size=-1), "batch_size must be an integer >= 1"),
    (dict(batch_size=1.5), "batch_size must be an integer >= 1"),
    (dict(schedule="linear"), "unknown schedule 'linear'"),
    (dict(gc_images=-1), "gc_images must be an integer >= 0"),
    (dict(linearize="neuron", start_from="a/b"), "linearize must be 'channel', 'layer'"),
    (dict(linearize="layer"), "linearize needs start_from"),
    (dict(start_from="a"), "start_from must be '<experiment>/<key>'"),
    (dict(start_from="../x/y"), "start_from must be '<experiment>/<key>'"),
    (dict(start_from="a/b/c"), "start_from must be '<experiment>/<key>'"),
    (dict(omega=-1), "omega must be"),
    (dict(omega=math.nan), "omega must be"),
    (dict(freeze_threshold=0), "freeze_threshold must lie in (0, 1)"),
    (dict(freeze_threshold=1), "freeze_threshold must lie in (0, 1)"),
    (dict(optimizer="adam"), "unknown optimizer 'adam'"),
    (dict(precision="fp16"), "unknown precision 'fp16'"),
    (dict(alpha_lr=0), "alpha_lr must be"),
    (dict(alpha_lr=math.nan), "alpha_lr must be"),
    (dict(eval_images=0), "eval_images must be an integer >= 1"),
    (dict(eval_images=True), "eval_images must be an integer >= 1"),
    (dict(eval_every=0), "eval_every must be >= 1 step"),
    (dict(mask="best", linearize="layer", start_from="a/b"), "mask must be 'learned', 'random'"),
    (dict(mask="learned"), "set linearize"),
    (dict(mask="random", linearize="layer", start_from="a/b", omega=1.0), "set omega to 0"),
    (dict(classes=[1]), "classes must be a list of at least 2 distinct"),
    (dict(classes=[2, 2]), "classes must be a list of at least 2 distinct"),
    (dict(classes=[-1, 3]), "classes must be a list of at least 2 distinct"),
    (dict(classes=["a", "b"]), "classes must be a list of at least 2 distinct"),
    (dict(experiment="../x"), "experiment name '../x' must be"),
    (dict(experiment=""), "experiment name '' must be"),
    (dict(experiment="/tmp/x"), "experiment name '/tmp/x' must be"),
    (dict(experiment="a b"), "experiment name 'a b' must be"),
    (dict(dataset="svhn"), "unknown dataset 'svhn'"),
    (dict(model="vgg16", model_args={}), "unknown model 'vgg16'"),
    (dict(model_args=dict(depth=0, width=4)), "depth must be an integer >= 1"),
    (dict(model_args=dict(depth=10**9, width=4)), "depth must be an integer >= 1"),
    (dict(model_args=dict(depth=2, width=0)), "width must be an integer >= 1"),
    (dict(model_args=dict(depth=2, width=10**6)), "width must be an integer >= 1"),
    (dict(model_args=dict(depth=2, width=4, lam="big")), "lam must be a number >= 0"),
    (dict(model_args=dict(depth=2, width=4, lam="n^5000")), "lam must be finite"),
    (dict(model_args=dict(depth=2, width=4, lam=-1.0)), "lam must be finite and >= 0"),
    (dict(model_args=dict(depth=2, width=4, batchnorm="false")), "batchnorm"),
    (dict(model_args=dict(depth=2, width=4, activation="swish")), "activation"),
    (dict(model_args=dict(depth=2, width=4, stem_pool="valid")), "stem_pool must be 'same'"),
    (dict(model_args=dict(dept=2, width=4)), "dept"),
    (dict(model="repvgg_a0", model_args=dict(width_scale=0)), "width_scale"),
    (dict(model="repvgg_a0", model_args=dict(width_scale=-1)), "width_scale"),
    (dict(model="resnet20", model_args=dict(depth=3)), "depth"),
]


@pytest.mark.parametrize("changes, phrase", CONFIG_CASES, ids=[str(c) for c, _ in CONFIG_CASES])
def test_a_bad_config_field_is_one_line_that_names_it(changes, phrase):
    with pytest.raises(ResdepthError) as err:
        config(**changes)
    message = str(err.value)
    assert "\n" not in message and phrase in message, message


SETTINGS_CASES = [  # (chapter, overrides, phrase)
    ("training_basics", dict(dept=3), "has no setting 'dept'; did you mean 'depth'"),
    ("training_basics", dict(seeds=1), "seeds must be a list"),
    ("training_basics", dict(depth="deep"), "depth must be a number"),
    ("table1_depth_scaling", dict(depths="[1, 10]"), "depths must be a list"),
    ("table1_depth_scaling", dict(seed=[0]), "has no setting 'seed'"),
    ("lambda_sweep", dict(lams="n^-1"), "lams must be a list"),
    ("lambda_sweep", dict(lr="fast"), "lr must be a number"),
    ("linearization_napl", dict(omegas=[1.0]), "omegas must be a mapping"),
    ("linearization_napl", dict(post_epochs="one"), "post_epochs must be a number"),
    ("lesion_study", dict(ks=4), "ks must be a list"),
]


@pytest.mark.parametrize("name, overrides, phrase", SETTINGS_CASES, ids=[f"{n}-{o}" for n, o, _ in SETTINGS_CASES])
def test_a_bad_chapter_parameter_is_one_line_that_names_it(name, overrides, phrase):
    with pytest.raises(ResdepthError) as err:
        resolve(name, "book", **overrides)
    assert "\n" not in str(err.value) and phrase in str(err.value), str(err.value)


def test_a_wrong_profile_or_budget_is_one_line():
    for call, phrase in [(lambda: resolve("training_basics", "quick"), "unknown profile 'quick'"),
                         (lambda: resolve("training_basics", "book", budget="book_v9"), "has no budget 'book_v9'"),
                         (lambda: resolve("nope", "book"), "unknown experiment 'nope'")]:
        with pytest.raises(ResdepthError, match=phrase) as err:
            call()
        assert "\n" not in str(err.value)


CLI_CASES = [  # (arguments, phrase)
    (["train", "--dataset", "sample", "--depth", "2", "--epochs", "0"], "epochs/steps must be an integer >= 1"),
    (["train", "--dataset", "sample", "--depth", "2", "--lr", "1e300"], "lr must be"),
    (["train", "--dataset", "sample", "--depth", "2", "--steps", "1", "--device", "gpu7"], "unknown device 'gpu7'"),
    (["train", "--dataset", "sample", "--depth", "2", "--steps", "1", "--device", "cuda:9"], "is not on this machine"),
    (["train", "--model", "vgg16"], "unknown model 'vgg16'"),
    (["train", "--model", "repvgg_a0", "--depth", "3"], "model repvgg_a0 takes no --depth"),
    (["train", "--dataset", "sample", "--depth", "2", "--steps", "1", "--experiment", "../x"], "experiment name"),
    (["sweep", "nope"], "unknown experiment 'nope' to sweep"),
    (["sweep", "training_basics", "--budget", "book_v9"], "has no budget 'book_v9'"),
    (["sweep", "training_basics", "--max-retries", "-1"], "max_retries must be an integer >= 0"),
    (["plan", "nope"], "unknown experiment 'nope' to plan"),
    (["plan", "training_basics", "--threads", "0"], "--threads must be >= 1"),
    (["remake", "--count", "0"], "--count and --max-steps must be >= 1"),
]


@pytest.mark.parametrize("argv, phrase", CLI_CASES, ids=[" ".join(a) for a, _ in CLI_CASES])
def test_a_bad_command_line_is_one_line_on_stderr_and_stores_nothing(argv, phrase, capsys, isolated_store):
    from resdepth.__main__ import main

    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("error: ") and phrase in err, err
    stored = list(isolated_store.parent.rglob("*.json")) if isolated_store.parent.exists() else []
    assert not stored
