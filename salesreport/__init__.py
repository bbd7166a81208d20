"""salesreport: monthly sales reports people trust."""

__version__ = "0.1.0"
