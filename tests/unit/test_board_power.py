"""Energy per board: a real board's estimate uses its published [power] figure, flagged published; a board
without one (the virtual core boards, and the real boards whose datasheet figure is still missing) keeps the
assumed per-core figure, flagged assumed, and a real board's file says what is missing."""
from __future__ import annotations

import pytest

from tinygen.analyze import _board_row
from tinygen.codegen import estimate
from tinygen.paths import boards_dir
from tinygen.target import boards

# Real boards whose MCU datasheet figure could not be retrieved (see the comment at the end of each board
# file), with the document the figure must come from. Take a board off this list when its [power] lands.
UNSOURCED = {"nucleo-l4r5zi": "DS12023", "nucleo-h7a3zi-q": "DS13195", "stm32f746g-disco": "DS10916",
             "rpi-pico": "RP2040 Datasheet"}

ALL = boards.list_boards()
REAL = [b for b in ALL if b.qemu_machine is None]  # hardware boards: no QEMU machine runs them
VIRTUAL = [b for b in ALL if b.qemu_machine is not None]
PUBLISHED = [b for b in REAL if b.name not in UNSOURCED]
FLAGGED = [b for b in REAL if b.name in UNSOURCED] + VIRTUAL
_LAYER = dict(index=0, name="l0", op="X", kernel="tg_conv2d_s8_fast", macs=100_000, weight_bytes=0,
              inputs=[[1, 8, 8, 8]], outputs=[[1, 8, 8, 8]])
_REPORT = dict(layers=[_LAYER], weights_bytes=1000, arena_bytes=1024)


def _ids(b):
    return b.name


def test_real_and_virtual_boards_are_told_apart():
    names = {b.name for b in REAL}
    assert set(UNSOURCED) <= names and {"nrf52840dk", "arduino-nano-33-ble"} <= names
    assert VIRTUAL and all(b.name.startswith(("cortex-m", "mps2-", "mps3-")) for b in VIRTUAL)
    assert PUBLISHED, "no real board carries a published figure"


@pytest.mark.parametrize("board", PUBLISHED, ids=_ids)
def test_real_board_energy_uses_its_published_figure(board):
    assert board.power is not None, f"{board.name}: a real board needs a [power] table (or an UNSOURCED entry)"
    assert board.power["source"].strip()
    est = estimate.estimate(_REPORT, board)
    assert est["power_published"]
    assert est["current_ma"] == pytest.approx(board.power["ua_per_mhz"] * board.clock_hz / 1e9, rel=1e-3)
    assert est["voltage_v"] == board.power["voltage_v"]
    assert any(board.power["source"] in a for a in est["assumptions"])
    assert not any("assumed" in a and "uA/MHz" in a for a in est["assumptions"])
    assert est["uj"] == pytest.approx(est["current_ma"] * est["voltage_v"] * est["ms"], rel=1e-3)
    assert _board_row(_REPORT, [], board)["power_published"]  # `analyze` prints its uJ without the '*'


@pytest.mark.parametrize("board", FLAGGED, ids=_ids)
def test_boards_without_a_figure_keep_the_flagged_assumption(board):
    assert board.power is None, f"{board.name} has a [power] table now: take it off UNSOURCED"
    est = estimate.estimate(_REPORT, board)
    assert not est["power_published"] and not _board_row(_REPORT, [], board)["power_published"]
    ua = estimate.ASSUMED_UA_PER_MHZ[board.core]
    assert est["current_ma"] == pytest.approx(ua * board.clock_hz / 1e9, rel=1e-3)
    assert est["voltage_v"] == estimate.ASSUMED_VOLTAGE
    assert any("assumed" in a and f"no published figure in boards/{board.name}.toml" in a
               for a in est["assumptions"])
    if board.name in UNSOURCED:  # a real board: its file says which datasheet figure is missing
        text = (boards_dir() / f"{board.name}.toml").read_text()
        assert "No [power] table" in text and UNSOURCED[board.name] in text
