"""What each exercise is called and the one instruction for it, in the patient's words.

One place for the names the screens, the program editor and the therapist's report show.
"""

EXERCISE_TEXTS = {
    # exercise: (title, instruction). One instruction each; a chair wherever a foot leaves the
    # board or the heels rise (the chair reminder is never left out for standing on one leg).
    "quiet-stance": (
        "Standing still",
        "Stand with a foot on each mark. Look ahead and keep still.",
    ),
    "heel-raises": ("Heel raises", "Hold the chair. Rise up on your toes, then come down slowly."),
    "toe-raises": ("Toe raises", "Hold the chair. Lift your toes, then put them down slowly."),
    "flamingo": (
        "Standing on one leg",
        "Hold the back of a chair. Lift one foot and stand on the other leg.",
    ),
    "weight-shift": (
        "Weight shifts",
        "Lean slowly to the side the screen shows, then back to the middle.",
    ),
    "limits-of-stability": (
        "Reaching leans",
        "Keep your feet still. Lean towards each circle as far as you safely can.",
    ),
}
