"""Use cases: load -> domain decision -> save + outbox, inside the caller's transaction.

``core`` holds programs, enterprises, claims and the consumed funds/logistics events; the other
modules hold service contracts, milestones, performance targets and evidence files. The HTTP
and event entrypoints import this package only.
"""

from .contract_files import add_contract_file, contract_file, list_contract_files
from .contracts import (
    accept_contract,
    accept_contract_milestone,
    apply_contract_payment_executed,
    apply_contract_payment_refused,
    apply_tranche_payment_failed,
    create_contract,
    get_contract,
    list_contracts,
    report_deliverable,
)
from .core import (
    READ_ALL_ROLES,
    activate_program,
    apply_funds_event,
    apply_payment_failed,
    change_enterprise,
    check_stored_program,
    decide_claim,
    describe_program_item,
    get_claim,
    get_enterprise,
    get_program,
    list_claims,
    list_enterprises,
    load_program,
    own_credit_code_only,
    record_station_volume,
    register_enterprise,
    resubmit_claim,
    review_claim,
    submit_claim,
    withdraw_claim,
)
from .files import add_evidence_file, evidence_file, list_evidence_files
from .milestones import accept_program_milestone, emit_overdue_milestones, list_program_milestones
from .packages import create_package, get_package, list_packages
from .targets import program_targets, record_station

__all__ = [
    "READ_ALL_ROLES",
    "accept_contract",
    "accept_contract_milestone",
    "accept_program_milestone",
    "activate_program",
    "add_contract_file",
    "add_evidence_file",
    "apply_contract_payment_executed",
    "apply_contract_payment_refused",
    "apply_funds_event",
    "apply_payment_failed",
    "apply_tranche_payment_failed",
    "change_enterprise",
    "check_stored_program",
    "contract_file",
    "create_contract",
    "create_package",
    "decide_claim",
    "describe_program_item",
    "emit_overdue_milestones",
    "evidence_file",
    "get_claim",
    "get_contract",
    "get_enterprise",
    "get_package",
    "get_program",
    "list_claims",
    "list_contract_files",
    "list_contracts",
    "list_enterprises",
    "list_evidence_files",
    "list_packages",
    "list_program_milestones",
    "load_program",
    "own_credit_code_only",
    "program_targets",
    "record_station",
    "record_station_volume",
    "register_enterprise",
    "report_deliverable",
    "resubmit_claim",
    "review_claim",
    "submit_claim",
    "withdraw_claim",
]
