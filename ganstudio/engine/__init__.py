"""The renderer (no Qt): device choice, network cache, render(state) -> RenderResult, async worker."""
from ganstudio.engine.renderer import ModelInfo, Renderer, RenderResult, load_model, pick_device
from ganstudio.engine.session import load_session, save_session
from ganstudio.engine.state import RenderState
from ganstudio.engine.worker import AsyncRenderer

__all__ = ["AsyncRenderer", "ModelInfo", "RenderResult", "RenderState", "Renderer", "load_model", "load_session",
           "pick_device", "save_session"]
