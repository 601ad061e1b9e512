"""The command line: the grammar, one handler per command, output, the demo."""
