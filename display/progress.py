"""Progress over the last weeks: one line per exercise, the day's best score, from real records.

A screen of the app's state machine (``display.machine``), reached from the welcome and done
screens. The numbers come from ``clinic.store`` (complete, scored trials only). Each exercise has
its own marker shape as well as its own colour (never colour alone), and one sentence in body-size
text says what changed, so nobody has to read the chart to get the message."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pygame

from clinic.report import best_score_by_day
from display import theme
from display.screens import ButtonScreen, go_to
from exercises.registry import title_of

WEEKS = 8
SERIES_COLOURS = (theme.GOOD, theme.ACCENT, theme.WARNING, theme.DANGER, theme.TEXT)
MARKERS = ("circle", "square", "triangle", "diamond", "cross", "plus", "ring")
# colour and marker cycle at different lengths: every series up to 35 looks different


def daily_best(trials, today: date, weeks: int = WEEKS) -> dict[str, list[tuple[int, float]]]:
    """{exercise: [(days before today, best score that day), …]} over the last ``weeks``, oldest
    first. Trials without a score (sensor fault, aborted) are left out."""
    series = {}
    for exercise, days in best_score_by_day(trials).items():
        points = [((today - day).days, score) for day, score in days.items()]
        points = sorted((p for p in points if 0 <= p[0] < weeks * 7), reverse=True)
        if points:
            series[exercise] = points
    return series


def series_words(key: str, *, short: bool = False) -> str:
    """A trend's name for the patient: "Standing on your left leg" (the sentence) or
    "One leg: left" (the legend, which has little room); other exercises by their title."""
    exercise, _, side = key.partition("/")
    if exercise == "flamingo" and side:
        return f"One leg: {side}" if short else f"Standing on your {side} leg"
    if exercise == "tandem-stance" and side:
        return f"Heel to toe: {side}" if short else f"Heel to toe, {side} foot in front"
    return title_of(exercise)


def headline(series: dict[str, list[tuple[int, float]]]) -> str:
    """One sentence: the exercise that changed most between its first and last days."""
    if not series:
        return "No results yet. Your scores will appear here."
    changes = []
    for exercise, points in series.items():
        if len(points) >= 2:
            changes.append((points[-1][1] - points[0][1], exercise, points[0][0]))
    if not changes:
        return "One day of results so far. Keep going!"
    change, exercise, since = max(changes, key=lambda c: abs(c[0]))
    title = series_words(exercise)
    weeks = max(1, round(since / 7))
    when = f"in {weeks} week{'s' if weeks > 1 else ''}"
    if abs(change) < 1:
        return f"{title}: steady {when}."
    return f"{title}: {'up' if change > 0 else 'down'} {abs(change):.0f} points {when}."


def draw_marker(surface, kind: str, colour, pos, size: int = 7) -> None:
    x, y = pos
    if kind == "circle":
        pygame.draw.circle(surface, colour, pos, size)
    elif kind == "square":
        pygame.draw.rect(surface, colour, (x - size, y - size, 2 * size, 2 * size))
    elif kind == "triangle":
        pygame.draw.polygon(
            surface, colour, [(x, y - size), (x - size, y + size), (x + size, y + size)]
        )
    elif kind == "diamond":
        pygame.draw.polygon(
            surface, colour, [(x, y - size), (x + size, y), (x, y + size), (x - size, y)]
        )
    elif kind == "plus":
        pygame.draw.line(surface, colour, (x - size, y), (x + size, y), 4)
        pygame.draw.line(surface, colour, (x, y - size), (x, y + size), 4)
    elif kind == "ring":
        pygame.draw.circle(surface, colour, pos, size, width=3)
    else:
        pygame.draw.line(surface, colour, (x - size, y - size), (x + size, y + size), 4)
        pygame.draw.line(surface, colour, (x - size, y + size), (x + size, y - size), 4)


class ProgressScreen(ButtonScreen):
    """The chart of the last weeks, and Back."""

    name = "progress"

    def make_buttons(self):
        return [self.big_button("Back", go_to("welcome"), 0.89, 240)]

    def enter(self) -> None:
        super().enter()
        app = self.app
        trials = []
        session = app.session
        today = datetime.fromisoformat(app.clock.now_iso()).date()
        if session is not None and session.store is not None and session.patient_code:
            first_day = today - timedelta(weeks=WEEKS)  # the chart's weeks, not every year
            trials = session.store.trials(session.patient_code, first_day=first_day)
        self.series = daily_best(trials, today)
        self.sentence = headline(self.series)
        self._chart = None  # drawn once: the data do not change while the screen is up

    def draw(self, surface) -> None:
        if self._chart is None or self._chart.get_size() != surface.get_size():
            self._chart = pygame.Surface(surface.get_size())
            self._draw_chart(self._chart)
        surface.blit(self._chart, (0, 0))
        self.draw_buttons(surface)

    def _draw_chart(self, surface) -> None:
        app = self.app
        surface.fill(theme.BACKGROUND)
        w, h = surface.get_size()
        app.text(surface, self.sentence, theme.BODY_PX, theme.TEXT, (w // 2, 34))
        plot = pygame.Rect(80, 100, w - 370, h - 240)
        pygame.draw.rect(surface, theme.PANEL, plot)
        days = WEEKS * 7
        # axes: score 0–100 up the left, weeks along the bottom (today on the right)
        for score in (0, 50, 100):
            y = plot.bottom - score / 100 * plot.height
            pygame.draw.line(surface, theme.BOARD, (plot.left, y), (plot.right, y), 1)
            app.text(surface, str(score), theme.SMALL_PX, theme.TEXT_DIM, (plot.left - 28, y))
        for week in range(0, WEEKS + 1, 4):
            x = plot.right - week * 7 / (days - 1) * plot.width
            label = "today" if week == 0 else f"{week} weeks ago"
            app.text(surface, label, theme.SMALL_PX, theme.TEXT_DIM, (x, plot.bottom + 18))
        app.text(surface, "score (points)", theme.SMALL_PX, theme.TEXT_DIM, (plot.left + 60, 82))
        legend_y = plot.top + 10
        for i, (exercise, points) in enumerate(sorted(self.series.items())):
            colour, marker = SERIES_COLOURS[i % len(SERIES_COLOURS)], MARKERS[i % len(MARKERS)]
            xy = [
                (
                    int(plot.right - ago / (days - 1) * plot.width),
                    int(plot.bottom - score / 100 * plot.height),
                )
                for ago, score in points
            ]
            if len(xy) > 1:
                pygame.draw.lines(surface, colour, False, xy, 3)
            for pos in xy:
                draw_marker(surface, marker, colour, pos)
            draw_marker(surface, marker, colour, (plot.right + 24, legend_y + 14))
            title = series_words(exercise, short=True)
            image = app.font(theme.SMALL_PX).render(title, True, theme.TEXT)
            surface.blit(image, (plot.right + 40, legend_y))
            legend_y += 44
