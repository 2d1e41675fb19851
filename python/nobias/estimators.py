"""Placeholder."""
class Regressor: pass
class Classifier: pass
