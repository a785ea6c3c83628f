"""The Trust page's tabs, one module each: ``render(ds, choices)``."""
