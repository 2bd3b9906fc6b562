"""Preset thumbnails: saved with a user preset from the output frame, renamed and deleted with it."""

import cv2
import numpy as np
import pytest

from app.presets.thumbnails import SIZE, Thumbnails, thumbnail_image
from app.show_actions import ShowActionError
from app.show_control import ShowControl


@pytest.fixture
def show(store, presets):
    s = ShowControl(store, presets, timer_thread=False)
    s.start()
    yield s
    s.stop()


def _frame(h=720, w=1280):
    f = np.zeros((h, w, 3), np.uint8)
    f[:, :, 0] = 200  # red, in RGB
    return f


def test_a_saved_preset_gets_a_small_picture_of_the_output(show):
    frames = [_frame()]
    show.capture = lambda: frames[0]
    show.trigger("preset_save", "red look", source="osc")
    path = show.thumbnail_path("red look")
    assert path == show.presets.directory / "thumbnails" / "red look.png"
    img = cv2.imread(str(path))
    assert img.shape == (SIZE[1], SIZE[0], 3)
    assert tuple(img[45, 80]) == (0, 0, 200)  # BGR on disk: the red stayed red
    frames[0] = np.full((512, 512, 3), 90, np.uint8)  # a square output: fits the height, aspect kept
    show.save_preset("red look")
    assert cv2.imread(str(show.thumbnail_path("red look"))).shape == (90, 90, 3)


def test_rename_and_delete_take_the_picture_along(show):
    show.capture = _frame
    show.save_preset("a")
    version = show.thumbnails.version
    show.trigger("preset_rename", ("a", "b"))
    assert show.thumbnail_path("a") is None and show.thumbnail_path("b").is_file()
    assert show.thumbnails.version > version
    show.trigger("preset_delete", "b")
    assert show.thumbnail_path("b") is None
    assert not (show.presets.directory / "thumbnails" / "b.png").exists()


def test_no_frame_no_picture_and_an_older_picture_goes(show):
    show.save_preset("plain")  # no capture set: the preset is saved, without a picture
    assert show.find_preset("plain") and show.thumbnail_path("plain") is None
    show.capture = _frame
    show.save_preset("plain")
    assert show.thumbnail_path("plain") is not None
    show.capture = lambda: None  # nothing on the output yet: the old picture showed another look
    show.save_preset("plain")
    assert show.thumbnail_path("plain") is None


def test_a_failing_capture_or_a_strange_frame_never_fails_the_save(show):
    def broken():
        raise RuntimeError("no preview")

    show.capture = broken
    show.save_preset("one")
    show.capture = lambda: np.zeros((4, 4), np.float32)
    show.save_preset("two")
    assert show.preset_names() == ["one", "two"]
    assert show.thumbnail_path("one") is None and show.thumbnail_path("two") is None
    with pytest.raises(ShowActionError):  # a refused save writes no picture either
        show.save_preset("a/b")
    assert not (show.presets.directory / "thumbnails" / "a").exists()


def test_thumbnail_image_keeps_the_aspect_and_accepts_grey_and_alpha():
    assert thumbnail_image(np.zeros((90, 320), np.uint8)).shape == (45, 160, 3)
    assert thumbnail_image(np.zeros((60, 40, 4), np.uint8)).shape == (60, 40, 3)  # never enlarged
    assert thumbnail_image(np.zeros((10, 10, 2), np.uint8)) is None
    assert thumbnail_image(np.zeros((0, 10, 3), np.uint8)) is None


def test_a_shipped_picture_is_shown_until_a_user_preset_takes_the_name(store, presets, tmp_path):
    shipped = tmp_path / "shipped"
    (shipped / "thumbnails").mkdir(parents=True)
    (shipped / "look.json").write_text('{"schema_version": 2, "name": "look", "values": {}}')
    cv2.imwrite(str(shipped / "thumbnails" / "look.png"), np.zeros((9, 16, 3), np.uint8))
    presets.shipped_directory = shipped
    thumbs = Thumbnails(presets)
    assert thumbs.path("look") == shipped / "thumbnails" / "look.png"
    presets.save("look", {"strength": 0.3})
    assert thumbs.path("look") is None  # the user's own look has no picture yet
    assert thumbs.path("no/such") is None
