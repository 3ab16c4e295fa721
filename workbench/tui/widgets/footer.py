"""The key bar at the bottom of every screen: Textual's Footer, rebuilt only when the keys it
shows change."""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer


class KeyFooter(Footer):
    """Textual's Footer removes and mounts all its keys whenever a screen's bindings are
    refreshed: at every focus change and several times during start-up (~20 ms each on a
    slow machine, six at start).  Most of those refreshes show the same keys, so this one
    compares what it would show and rebuilds only when that differs."""

    _shown: tuple | None = None
    _pending = False

    def bindings_changed(self, screen: Screen) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus or self._pending:
            return
        if self.is_attached and screen is self.screen:
            self._pending = True
            self.call_after_refresh(self._rebuild_if_changed)

    async def _rebuild_if_changed(self) -> None:
        self._pending = False
        if not self.is_attached:
            return
        shown = self._keys_shown()
        if shown != self._shown:
            self._shown = shown
            await self.recompose()

    def _keys_shown(self) -> tuple:
        """What `compose` reads from the screen's bindings (enabled state and tooltips
        included), and how each key is displayed (a remapped key changes it)."""
        app = self.app
        active = self.screen.active_bindings
        palette = active.get(app.COMMAND_PALETTE_BINDING)
        return tuple((binding, app.get_key_display(binding), enabled, tooltip)
                     for _node, binding, enabled, tooltip
                     in [*(row for row in active.values() if row[1].show),
                         *([palette] if palette else [])])
