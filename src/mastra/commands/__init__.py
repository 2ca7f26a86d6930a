"""The ``mastra`` command's subcommands, one module per area. Each module only declares its
arguments at import; what a command runs is imported when it runs, so ``mastra --help`` and
every command start without loading the areas they do not use."""
