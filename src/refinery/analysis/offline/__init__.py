"""The offline analyser: a diagnosis and ranked fixes from rules, with no LLM and no key.

Its parts, in the order they run: ``facts`` reads the trace generically, ``verdict`` decides the
failure type by documented priority rules, ``rule_text`` turns the expectation into a rule,
``hypotheses`` builds ranked fixes from the knowledge base and ``edit_targets``/``eval_targets``
place them in the project's files. Only ``analysis.offline.OfflineAnalyser`` is public.
"""

from .analyser import OfflineAnalyser

__all__ = ["OfflineAnalyser"]
