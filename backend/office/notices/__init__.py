"""(filled by its part)"""

from backend.office.part import Part

PART = Part()
