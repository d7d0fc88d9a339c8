"""What each video says: the user's figures and the persona × topic templates."""

from worker.prompts.figures import UtilizationFigures, utilization_figures
from worker.prompts.templates import PromptTemplate, Storyboard, find_template, normalize_persona

__all__ = [
    "PromptTemplate",
    "Storyboard",
    "UtilizationFigures",
    "find_template",
    "normalize_persona",
    "utilization_figures",
]
