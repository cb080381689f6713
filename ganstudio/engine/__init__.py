"""The explorer's engine, without Qt: the render state, the renderer and its service, the application core.

A panel edits the state through ``AppCore`` (the one writer), the render service renders it on a
worker (``render(state) -> RenderResult`` never raises), and the Qt layer only draws the result.
"""
from ganstudio.engine.app_core import AppCore, Bookmark, StateChange
from ganstudio.engine.render_service import RenderService
from ganstudio.engine.renderer import ModelInfo, Renderer, RenderResult, load_model, pick_device
from ganstudio.engine.session import load_session, save_session
from ganstudio.engine.state import Edit, LayerNoise, RenderState
from ganstudio.engine.worker import AsyncRenderer

__all__ = ["AppCore", "AsyncRenderer", "Bookmark", "Edit", "LayerNoise", "ModelInfo", "RenderResult", "RenderService",
           "RenderState", "Renderer", "StateChange", "load_model", "load_session", "pick_device", "save_session"]
