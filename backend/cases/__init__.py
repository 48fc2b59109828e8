"""The case kernel (办件内核): what every module's cases share.

A letter, an application, a proposal, an official document, a supervision task and an enforcement
case are all cases: a document that moves through declared states (``workflow.py``), held by
someone (``parties.py``), under a clock in Chinese working days (``deadline.py``), with approval
routes (``steps.py``), lead and co-units (``assignment.py``) and deputies (``delegation.py``).
``engine.py`` is the one write path; ``supervision.py`` warns and reports over every registered
workflow; ``todos.py`` keeps each person's to-do list from the events.
"""
