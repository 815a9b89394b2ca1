"""Face-swap architectures behind one registry: ``create_model(name)``."""

from facetwin.models.registry import SwapModel, create_model, list_models, model_info, register_model

__all__ = ["SwapModel", "create_model", "list_models", "model_info", "register_model"]
