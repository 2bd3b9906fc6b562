"""The console on `styles`: the notice says what a slot takes and how to load a diffusion model; F1 lists the
26 styles; the About box credits the style networks' authors and licence."""

from __future__ import annotations


def test_the_notice_follows_the_model_family(window, qtbot):
    banner = window.banner
    banner.show_for("styles")
    text = banner.text()
    assert banner.isVisibleTo(window) and "styles" in text and "seeds" in text and "no effect" in text
    assert "stabilityai/sd-turbo" in text and "image:PATH" in text
    banner.show_for("tiny")
    assert banner.isVisibleTo(window) and "random weights" in banner.text()
    banner.show_for("stabilityai/sd-turbo")
    assert not banner.isVisibleTo(window)


def test_f1_lists_every_style_by_number_and_name(window):
    from engine.styles.catalog import STYLE_NAMES

    text = window.help.text()
    assert all(name in text for name in STYLE_NAMES) and "image:PATH" in text


def test_the_about_box_credits_the_style_networks(window, qtbot):
    from PySide6.QtWidgets import QPushButton

    button = next(b for b in window.findChildren(QPushButton) if b.text() == "About")
    button.click()
    box = button.about_box[0]
    qtbot.waitUntil(box.isVisible)
    text = box.text.text()
    assert "Dumoulin" in text and "Ghiasi" in text and "Magenta" in text and "Apache License 2.0" in text
    assert not box.isModal()
    box.hide()
