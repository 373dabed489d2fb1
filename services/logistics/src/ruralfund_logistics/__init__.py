"""ruralfund logistics service: the county-town-village station network, station volumes and
the county logistics center's coverage. Entry point: ``ruralfund_logistics.app.create_app``."""
