"""Model card: what the open model is, what it was trained on, how well it does, how to retrain it.

The facts come from the shipped-model manifest (pretrained/manifest.json) when the model is
a shipped one (matched by name or by file), else from the checkpoint's own metadata
(``training``, ``metrics``, ``class_names``, ``config``).  Registry models opened with
``registry:<name>`` have random weights, and the card says so first.
"""
from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from ganstudio.engine import ModelInfo
from ganstudio.engine.model_card import (UNTRAINED_NOTICE, card_fields, format_duration,  # noqa: F401
                                         format_metric, manifest_entry)
from ganstudio.gui.panels._base import Panel


class ModelCardPanel(Panel):
    title = "Model card"

    def __init__(self, ctx, parent=None):
        super().__init__(ctx, parent)
        lay = QVBoxLayout(self)
        self.heading = QLabel()
        self.heading.setWordWrap(True)
        self.heading.setStyleSheet("font-size: 15px; font-weight: bold")
        lay.addWidget(self.heading)
        self.notice = QLabel(UNTRAINED_NOTICE)
        self.notice.setWordWrap(True)
        self.notice.setStyleSheet("color: #1a1a1a; background: #f0a030; padding: 6px; border-radius: 3px;"
                                  " font-weight: bold")
        self.notice.hide()
        lay.addWidget(self.notice)
        self.body = QLabel()
        self.body.setWordWrap(True)
        self.body.setTextFormat(Qt.RichText)
        self.body.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.body.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        lay.addWidget(self.body)
        row = QHBoxLayout()
        self.copy_btn = QPushButton("Copy recipe")
        self.copy_btn.setToolTip("Copy the `ganstudio train` command that made this model")
        row.addWidget(self.copy_btn)
        row.addStretch(1)
        lay.addLayout(row)
        lay.addStretch(1)
        self.rows: list[tuple[str, str]] = []
        self.recipe = ""
        self.copy_btn.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.recipe))

    def field(self, label: str) -> str:
        """The card's text for a row label ("" if absent), for tests and tooltips."""
        return next((text for l, text in self.rows if l == label), "")

    def model_changed(self, info: ModelInfo) -> None:
        self.rows, source = card_fields(info)
        name = source.get("name") if isinstance(source, dict) and source.get("name") else info.label
        self.heading.setText(html.escape(str(name)))
        self.notice.setVisible(info.untrained)
        self.recipe = str(source.get("command", "")) if isinstance(source, dict) else ""
        self.copy_btn.setVisible(bool(self.recipe))
        cells = "".join(f"<tr><td style='padding:2px 8px 6px 0; color:#999; white-space:nowrap' valign='top'>"
                        f"{html.escape(label)}</td><td style='padding-bottom:6px'>{text}</td></tr>"
                        for label, text in self.rows)
        self.body.setText(f"<table>{cells}</table>")
