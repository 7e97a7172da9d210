"""The page's routes, one module per page: start (and progress), analysis, fixes, history."""
