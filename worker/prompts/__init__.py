"""What each video says: the user's figures and card, the persona × topic templates, the wording."""

from worker.prompts.card import CardChoice, choose_card
from worker.prompts.figures import CardFigures, UtilizationFigures, utilization_figures
from worker.prompts.screen import ScreenText, disclaimer_for_screen
from worker.prompts.templates import PromptTemplate, Storyboard, find_template, normalize_persona

__all__ = [
    "CardChoice",
    "CardFigures",
    "PromptTemplate",
    "ScreenText",
    "Storyboard",
    "UtilizationFigures",
    "choose_card",
    "disclaimer_for_screen",
    "find_template",
    "normalize_persona",
    "utilization_figures",
]
