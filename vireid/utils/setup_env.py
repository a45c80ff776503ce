import datetime

from mmengine import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import every vireid module that registers something; optionally make 'vireid' the default scope."""
    import vireid.datasets  # noqa: F401
    import vireid.engine  # noqa: F401
    import vireid.evaluation  # noqa: F401
    import vireid.models  # noqa: F401
    import vireid.visualization  # noqa: F401

    if not init_default_scope:
        return
    current = DefaultScope.get_current_instance()
    if current is not None and current.scope_name == 'vireid':
        return
    # instance names must be unique; the scope name is what lookups use
    name = 'vireid' if not DefaultScope.check_instance_created('vireid') \
        else f'vireid-{datetime.datetime.now()}'
    DefaultScope.get_instance(name, scope_name='vireid')
