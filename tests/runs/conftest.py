"""The ComfyUI fixtures (the fake on a real port, a connected client) for run tests."""

from tests.comfy.conftest import client, fake, object_info, threaded_fake  # noqa: F401
