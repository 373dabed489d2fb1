"""Use cases: load -> domain decision -> save + outbox, inside the caller's transaction.

One module per aggregate: ``programs``, ``enterprises``, ``claims``, ``funds_facts`` (what
funds and logistics report about claims), service ``contracts`` and their files, ``packages``,
``milestones``, ``targets`` and evidence ``files``; ``common`` holds who may read what. The HTTP
and event entrypoints import this package only.
"""

from .claims import (
    decide_claim,
    get_claim,
    list_claims,
    resubmit_claim,
    review_claim,
    submit_claim,
    withdraw_claim,
)
from .clawbacks import record_clawback_repaid, record_contractor_defaulted
from .common import READ_ALL_ROLES, own_credit_code_only
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
from .enterprises import change_enterprise, get_enterprise, list_enterprises, register_enterprise
from .files import add_evidence_file, evidence_file, list_evidence_files
from .funds_facts import apply_funds_event, apply_payment_failed, record_station_volume
from .milestones import accept_program_milestone, emit_overdue_milestones, list_program_milestones
from .packages import create_package, get_package, list_packages
from .programs import (
    activate_program,
    check_stored_program,
    describe_program_item,
    get_program,
    load_program,
)
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
    "record_clawback_repaid",
    "record_contractor_defaulted",
    "record_station",
    "record_station_volume",
    "register_enterprise",
    "report_deliverable",
    "resubmit_claim",
    "review_claim",
    "submit_claim",
    "withdraw_claim",
]
