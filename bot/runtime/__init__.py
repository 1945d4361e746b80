"""How the process itself runs, below every capability.

Lives here: ``heap`` (the garbage collector paused through start-up, then the heap frozen
once the bot is built).
May import: nothing of the bot; the standard library only.
"""
