"""The deploy part's user-facing failure: a mistake with its fix, shown by the CLI without a traceback."""


class DeployError(Exception):
    """A mistake in what was asked (a path, an option, a repository state); the message names the fix."""
