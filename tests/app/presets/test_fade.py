"""The fade plan: what each parameter does over a recall's progress 0..1."""

import pytest

from app.presets.fade import build_plan


def plan_for(store, target, **current):
    values = dict(store.snapshot().values)
    values.update({k.replace("__", "."): v for k, v in current.items()})
    clean = {n: store.spec(n).validate(v) for n, v in target.items()}
    plan = build_plan(values, clean, store.params)
    plan.state_at = lambda p: {**values, **plan.values_at(p)}  # what the registry holds at progress p
    return plan


def test_numbers_interpolate_and_switches_happen_at_the_start(store):
    plan = plan_for(store, {"strength": 0.9, "max_skip_frame": 20, "guidance": "full", "similarity_filter": True,
                            "steps": 4, "negative_prompt": "blur"})
    mid = plan.values_at(0.5)
    assert mid["strength"] == pytest.approx(0.7) and mid["max_skip_frame"] == 15 and isinstance(mid["max_skip_frame"], int)
    for p in (0.0, 0.01):
        v = plan.values_at(p)
        assert v["guidance"] == "full" and v["similarity_filter"] is True and v["steps"] == 4 and v["negative_prompt"] == "blur"
    assert plan.values_at(0.0)["strength"] == 0.5
    assert plan.values_at(1.0) == {"strength": 0.9, "max_skip_frame": 20, "guidance": "full", "similarity_filter": True,
                                   "steps": 4, "negative_prompt": "blur"}


def test_untouched_parameters_are_not_driven(store):
    plan = plan_for(store, {"strength": 0.9})
    assert set(plan.values_at(0.3)) == {"strength"} and plan.values_at(1.0) == {"strength": 0.9}


def test_same_prompt_text_fades_its_weight(store):
    plan = plan_for(store, {"prompt.1.text": "a", "prompt.1.weight": 0.2}, prompt__1__text="a")
    assert plan.values_at(0.5)["prompt.1.weight"] == pytest.approx(0.6)
    assert plan.values_at(0.5).get("prompt.1.text", "a") == "a"


def test_new_text_on_a_silent_slot_switches_at_once_and_fades_in(store):
    plan = plan_for(store, {"prompt.2.text": "fog", "prompt.2.weight": 0.5})
    v = plan.values_at(0.0)
    assert v["prompt.2.text"] == "fog" and v["prompt.2.weight"] == 0.0
    assert plan.values_at(0.5)["prompt.2.weight"] == pytest.approx(0.25)


def test_new_text_on_a_showing_slot_crossfades_through_an_idle_slot(store):
    # slot 1 shows "old" at 1.0; slots 2..4 are idle; the preset wants "new" at 0.8 in slot 1
    plan = plan_for(store, {"prompt.1.text": "new", "prompt.1.weight": 0.8}, prompt__1__text="old")
    start, mid = plan.state_at(0.0), plan.state_at(0.5)
    assert start["prompt.1.text"] == "old" and start["prompt.2.text"] == "new" and start["prompt.2.weight"] == 0.0
    assert mid["prompt.1.weight"] == pytest.approx(0.5) and mid["prompt.2.weight"] == pytest.approx(0.4)
    assert mid["prompt.1.text"] == "old" and mid["prompt.2.text"] == "new"
    end = plan.values_at(1.0)  # the swap into the preset's own slot is one update, the blend unchanged
    assert end == {"prompt.1.text": "new", "prompt.1.weight": 0.8, "prompt.2.text": "", "prompt.2.weight": 0.0}


def test_without_an_idle_slot_the_weight_dips_through_zero(store):
    full = {f"prompt.{i}.weight": 0.5 for i in range(1, 5)}
    full.update({f"prompt__{i}__text": f"p{i}" for i in range(1, 5)})
    plan = plan_for(store, {"prompt.1.text": "new"}, **{k.replace(".", "__"): v for k, v in full.items()})
    assert plan.values_at(0.25)["prompt.1.weight"] == pytest.approx(0.25)
    assert plan.state_at(0.25)["prompt.1.text"] == "p1"
    assert plan.values_at(0.75)["prompt.1.text"] == "new"
    assert plan.values_at(0.75)["prompt.1.weight"] == pytest.approx(0.25)
    assert plan.values_at(1.0) == {"prompt.1.text": "new", "prompt.1.weight": 0.5}


def test_text_leaving_for_weight_zero_switches_at_the_end(store):
    plan = plan_for(store, {"prompt.1.text": "gone", "prompt.1.weight": 0.0, "prompt.2.text": "b", "prompt.2.weight": 1.0},
                    prompt__1__text="old")
    assert plan.state_at(0.9)["prompt.1.text"] == "old"
    assert plan.values_at(1.0)["prompt.1.text"] == "gone"


def test_seeds_blend_like_prompts(store):
    plan = plan_for(store, {"seed.1.value": 99})
    mid = plan.state_at(0.5)  # seed slot 2 is idle (weight 0): it carries the new seed
    assert mid["seed.1.value"] == 1 and mid["seed.2.value"] == 99
    assert mid["seed.1.weight"] == pytest.approx(0.5) and mid["seed.2.weight"] == pytest.approx(0.5)
    assert plan.values_at(1.0) == {"seed.1.value": 99, "seed.1.weight": 1.0, "seed.2.value": 2, "seed.2.weight": 0.0}


def test_drop_stops_driving_a_parameter(store):
    plan = plan_for(store, {"strength": 0.9, "guidance": "full"})
    plan.drop(["strength", "guidance"])
    assert plan.values_at(0.5) == {} and plan.values_at(1.0) == {}
