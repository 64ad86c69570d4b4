"""The `portraitflow` command line: thin, one module per subcommand.

Not for: logic a library user would want; that lives in graph/, nodes/, models/, recipes/, devices/.
"""
