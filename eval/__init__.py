"""Evaluation: question sets → the AskService → metrics → reports → a regression gate."""
