"""One module per headless verb (``workbench VERB``).

Each module defines ``HELP`` (one line), ``add_arguments(parser)`` and
``run(args, config) -> int`` (exit status: 0 ok, 1 problems found, 2 usage or file
errors).  Modules import heavy dependencies inside ``run`` so ``--help`` stays instant.
"""
