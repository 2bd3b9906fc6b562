"""A model that finishes loading while the output restarts (new size or fps) reaches the new pipeline."""

import threading

from engine.live.pipeline import IdentityStage


def test_a_model_swapped_in_during_an_output_restart_lands_on_the_new_pipeline(make_session):

    console = make_session()
    console.start(load_model=False)
    old = console.pipeline
    arrived = IdentityStage(64)
    swapper = []
    real_stop = old.stop

    def stop_while_a_load_finishes(timeout=2.0):
        t = threading.Thread(target=console.model.adopt, args=("tiny", arrived))  # the load thread's swap
        swapper.append(t)
        t.start()
        t.join(0.2)  # give it every chance to land on the old pipeline
        real_stop(timeout)

    old.stop = stop_while_a_load_finishes
    console.store.set("output_fps", 25)
    console.apply_output()
    swapper[0].join(5)
    assert console.pipeline is not old and console.pipeline.generator is arrived
