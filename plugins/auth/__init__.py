"""abaco's in-tree authentication methods (``import abaco_auth``): ``none``, ``token`` and
``jwt``, registered through the ``abaco`` entry-point group like any third-party plugin."""
