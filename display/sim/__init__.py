"""The simulated patient who follows the screen (``patient``): for ``balance-board run --patient
auto`` on the simulated board, the demo and the tests. Loaded only when asked for."""
