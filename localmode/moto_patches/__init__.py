"""Every change local mode makes to moto, one module per AWS service, each written against moto 5.2.5.

``patch``          :class:`~localmode.moto_patches.patch.Patch` (what a patch is, its shape check),
                   :class:`~localmode.moto_patches.patch.PatchSet` (apply, undo).
``lambda_``        in-process invocations, stream records queued, answers ``terraform plan`` needs.
``codedeploy``     the operations moto lacks; created Lambda deployments handed to the emulator.
``stepfunctions``  the operations moto lacks.
``server``         moto's server and configuration.
``registry``       :data:`~localmode.moto_patches.registry.REGISTRY`: every patch, by name.

Nothing outside this package assigns to a moto class or module (``tests/localmode/test_moto_patches.py``).
"""
