"""The demo world as data: systems, flows, their steps, the events they emit, and the incidents.

Nothing here draws random numbers; `simulation.py` and `processes.py` bring the world to life.
Event types are exactly those of the shipped processes (``config/processes.yml``).
"""

from __future__ import annotations

from dataclasses import dataclass

TENANT = "acme"


@dataclass(frozen=True)
class Step:
    """One step of a flow action: what it calls and how it behaves when nothing is wrong."""

    step_id: str
    step_name: str
    step_type: str  # trigger | http | transform | publish | queue
    system: str  # connector or system called (crm, erp, psp, wms, …)
    median_ms: float  # median duration of one attempt
    transient_fail: float = 0.0  # chance that attempt 1 fails with a retryable error
    fatal_fail: float = 0.0  # chance that the step fails with a non-retryable validation error
    max_attempts: int = 3
    items: int = 1  # items the step hands on (fetch steps may hand on many)


@dataclass(frozen=True)
class Flow:
    """An automation flow as its orchestrator knows it."""

    flow_id: str
    flow_name: str
    source_system: str  # the orchestrator that runs it
    version: str
    trigger: str  # webhook | event | schedule (contract's closed set)
    queue_name: str | None  # queue that feeds it, if any
    schedule_interval_s: int = 0  # scheduled flows pick up work on this tick
    duplicate_delivery_rate: float = 0.0  # at-least-once delivery: same message processed twice
    collision_rate: float = 0.0  # same idempotency key re-sent with another payload


@dataclass(frozen=True)
class Action:
    """What one run of a flow does for a case: its steps and the business event it emits."""

    key: str
    flow: Flow
    steps: tuple[Step, ...]
    event_type: str | None  # CloudEvents type emitted when the run succeeds
    event_source: str | None  # CloudEvents source, e.g. /acme/wms
    business_step: int  # index of the step whose success is the business fact


# ---------------------------------------------------------------------------------------- flows

CONTRACT_SYNC = Flow(
    "q2c-contract-sync",
    "Quote to contract sync",
    "workato",
    "3.2.0",
    "webhook",
    None,
    duplicate_delivery_rate=0.006,
    collision_rate=0.004,
)
INVOICE_POST = Flow(
    "q2c-invoice-post",
    "Invoice posting",
    "mulesoft",
    "1.8.0",
    "event",
    "erp.invoice-requests",
    duplicate_delivery_rate=0.012,
)
PAYMENT_RECONCILE = Flow(
    "q2c-payment-reconcile",
    "Payment reconciliation",
    "airflow",
    "2.3.1",
    "schedule",
    None,
    schedule_interval_s=3600,
)
ORDER_INTAKE = Flow(
    "c2f-order-intake",
    "Order intake",
    "n8n",
    "5.0.3",
    "webhook",
    "shop.orders",
    duplicate_delivery_rate=0.008,
    collision_rate=0.004,
)
PAYMENT_CAPTURE = Flow(
    "c2f-payment-capture",
    "Payment capture",
    "aws-lambda",
    "1.4.2",
    "event",
    "psp.capture-requests",
    duplicate_delivery_rate=0.012,
)
WAREHOUSE_DISPATCH = Flow(
    "c2f-warehouse-dispatch",
    "Warehouse dispatch",
    "n8n",
    "3.7.0",
    "event",
    "wms.dispatch",
    duplicate_delivery_rate=0.012,
)
SHIPMENT_TRACKING = Flow(
    "c2f-shipment-tracking",
    "Shipment tracking",
    "airflow",
    "1.2.0",
    "schedule",
    None,
    schedule_interval_s=900,
)
ESCALATION_ROUTER = Flow(
    "tkt-escalation-router",
    "Ticket escalation router",
    "zapier",
    "12",
    "webhook",
    None,
    duplicate_delivery_rate=0.006,
)

FLOWS: tuple[Flow, ...] = (
    CONTRACT_SYNC,
    INVOICE_POST,
    PAYMENT_RECONCILE,
    ORDER_INTAKE,
    PAYMENT_CAPTURE,
    WAREHOUSE_DISPATCH,
    SHIPMENT_TRACKING,
    ESCALATION_ROUTER,
)
QUEUE_FED_FLOWS: tuple[Flow, ...] = tuple(f for f in FLOWS if f.queue_name)


# -------------------------------------------------------------------------------------- actions


def _consume(system: str) -> Step:
    return Step("consume-message", "Consume message", "queue", system, 12, max_attempts=1)


SIGN_CONTRACT = Action(
    "contract",
    CONTRACT_SYNC,
    (
        Step(
            "receive-signature", "Receive signature webhook", "trigger", "clm", 40, max_attempts=1
        ),
        Step("fetch-quote", "Fetch quote", "http", "crm", 350, transient_fail=0.03),
        Step(
            "update-opportunity",
            "Update opportunity",
            "http",
            "crm",
            420,
            transient_fail=0.025,
            fatal_fail=0.004,
        ),
        Step(
            "publish-contract-signed",
            "Publish contract signed",
            "publish",
            "eventbus",
            35,
            transient_fail=0.005,
        ),
    ),
    "com.acme.clm.contract.signed",
    "/acme/clm",
    2,
)
_INVOICE_STEPS = (
    _consume("anypoint-mq"),
    Step("map-invoice", "Map invoice", "transform", "mulesoft", 25, fatal_fail=0.003),
    Step("post-invoice", "Post invoice", "http", "erp", 900, transient_fail=0.04, fatal_fail=0.004),
    Step(
        "publish-invoice", "Publish invoice event", "publish", "eventbus", 35, transient_fail=0.005
    ),
)
ISSUE_INVOICE = Action(
    "invoice", INVOICE_POST, _INVOICE_STEPS, "com.acme.erp.invoice.issued", "/acme/erp", 2
)
CORRECT_INVOICE = Action(
    "invoice-correction",
    INVOICE_POST,
    _INVOICE_STEPS,
    "com.acme.erp.invoice.corrected",
    "/acme/erp",
    2,
)
RECONCILE_PAYMENT = Action(
    "payment",
    PAYMENT_RECONCILE,
    (
        Step(
            "fetch-bank-statement",
            "Fetch bank statement",
            "http",
            "bank",
            2400,
            transient_fail=0.03,
            items=40,
        ),
        Step("match-payments", "Match payments", "transform", "airflow", 800, fatal_fail=0.003),
        Step("post-payment", "Post payment", "http", "erp", 700, transient_fail=0.025),
    ),
    "com.acme.erp.payment.captured",
    "/acme/erp",
    2,
)
_INTAKE_STEPS = (
    Step("receive-order", "Receive order webhook", "trigger", "shop", 30, max_attempts=1),
    Step("validate-order", "Validate order", "transform", "n8n", 15, fatal_fail=0.002),
    Step("reserve-stock", "Reserve stock", "http", "erp", 300, transient_fail=0.02),
    Step("enqueue-capture", "Enqueue payment capture", "publish", "sqs", 20, transient_fail=0.004),
)
TAKE_ORDER = Action("intake", ORDER_INTAKE, _INTAKE_STEPS, None, None, 3)
CORRECT_ORDER = Action(
    "order-correction",
    ORDER_INTAKE,
    _INTAKE_STEPS,
    "com.acme.shop.order.corrected",
    "/acme/shop",
    1,
)
CAPTURE_PAYMENT = Action(
    "capture",
    PAYMENT_CAPTURE,
    (
        _consume("sqs"),
        Step(
            "capture-payment",
            "Capture payment",
            "http",
            "psp",
            450,
            transient_fail=0.015,
            fatal_fail=0.019,
        ),
        Step(
            "update-order", "Update order payment status", "http", "shop", 120, transient_fail=0.003
        ),
    ),
    "com.acme.psp.payment.captured",
    "/acme/psp",
    1,
)
PICK_ORDER = Action(
    "pick",
    WAREHOUSE_DISPATCH,
    (
        _consume("rabbitmq"),
        Step(
            "create-pick-list",
            "Create pick list",
            "http",
            "wms",
            380,
            transient_fail=0.02,
            fatal_fail=0.002,
        ),
        Step("confirm-pick", "Confirm pick", "http", "wms", 260, transient_fail=0.015),
    ),
    "com.acme.wms.order.picked",
    "/acme/wms",
    2,
)
_TRACKING_STEPS = (
    Step(
        "poll-carrier", "Poll carrier API", "http", "carrier", 1100, transient_fail=0.035, items=25
    ),
    Step("match-shipments", "Match shipments", "transform", "airflow", 200),
    Step("update-order-status", "Update order status", "http", "shop", 150, transient_fail=0.01),
)
SHIP_ORDER = Action(
    "shipment", SHIPMENT_TRACKING, _TRACKING_STEPS, "com.acme.wms.order.shipped", "/acme/wms", 2
)
DELIVER_ORDER = Action(
    "delivery",
    SHIPMENT_TRACKING,
    _TRACKING_STEPS,
    "com.acme.carrier.order.delivered",
    "/acme/carrier",
    2,
)
_ROUTER_TRIGGER = Step(
    "receive-ticket", "Receive ticket webhook", "trigger", "desk", 50, max_attempts=1
)
ESCALATE_TICKET = Action(
    "escalation",
    ESCALATION_ROUTER,
    (
        _ROUTER_TRIGGER,
        Step("classify-ticket", "Classify ticket", "transform", "zapier", 60),
        Step("assign-tier2", "Assign tier-2 team", "http", "desk", 300, transient_fail=0.02),
        Step("notify-channel", "Notify on-call channel", "http", "slack", 180, transient_fail=0.03),
    ),
    "com.acme.desk.ticket.escalated",
    "/acme/desk",
    2,
)
RESOLVE_TICKET = Action(
    "resolution",
    ESCALATION_ROUTER,
    (
        _ROUTER_TRIGGER,
        Step("sync-resolution", "Sync resolution", "http", "desk", 280, transient_fail=0.015),
    ),
    "com.acme.desk.ticket.resolved",
    "/acme/desk",
    1,
)

# Start events are emitted by the systems of record themselves, not by a flow run.
START_EVENT_SOURCES = {
    "com.acme.crm.quote.approved": "/acme/crm",
    "com.acme.shop.order.placed": "/acme/shop",
    "com.acme.desk.ticket.opened": "/acme/desk",
}

# ----------------------------------------------------------------------------------- processes

QUOTE_TO_CASH = "quote_to_cash"
CART_TO_FULFILLMENT = "cart_to_fulfillment"
TICKET_ESCALATION = "ticket_escalation"
PROCESSES = (QUOTE_TO_CASH, CART_TO_FULFILLMENT, TICKET_ESCALATION)
CASE_KEY = {
    QUOTE_TO_CASH: "quote_id",
    CART_TO_FULFILLMENT: "order_id",
    TICKET_ESCALATION: "ticket_id",
}
END_EVENT = {
    QUOTE_TO_CASH: "com.acme.erp.payment.captured",
    CART_TO_FULFILLMENT: "com.acme.carrier.order.delivered",
    TICKET_ESCALATION: "com.acme.desk.ticket.resolved",
}

# Share of `cases_per_day` that starts each process; order-related tickets come on top
# (spawned by orders), so the standalone ticket share is small.
PROCESS_SHARE = {QUOTE_TO_CASH: 0.18, CART_TO_FULFILLMENT: 0.72, TICKET_ESCALATION: 0.05}

# Weekday factors, Monday first (normalised in `clock.py` so a week averages 1).
WEEKDAY_FACTORS = {
    QUOTE_TO_CASH: (1.0, 1.05, 1.05, 1.0, 0.9, 0.08, 0.04),
    CART_TO_FULFILLMENT: (0.95, 0.95, 0.95, 1.0, 1.05, 1.2, 1.15),
    TICKET_ESCALATION: (1.15, 1.0, 1.0, 1.0, 0.95, 0.45, 0.35),
}
# Hour-of-day profiles in UTC (relative weights, 24 values).
HOURLY_WEIGHTS = {
    QUOTE_TO_CASH: (0, 0, 0, 0, 0, 1, 2, 4, 8, 10, 10, 9, 7, 9, 10, 10, 9, 7, 4, 2, 1, 1, 0, 0),
    CART_TO_FULFILLMENT: (
        2,
        1,
        1,
        1,
        1,
        2,
        3,
        5,
        6,
        7,
        7,
        8,
        8,
        8,
        8,
        8,
        9,
        10,
        11,
        12,
        12,
        10,
        7,
        4,
    ),
    TICKET_ESCALATION: (1, 1, 1, 1, 1, 2, 4, 7, 9, 10, 10, 9, 8, 9, 9, 9, 8, 6, 4, 3, 2, 2, 1, 1),
}
GROWTH_OVER_WINDOW = 0.3  # volume grows linearly by 30 % from the first to the last day

# --------------------------------------------------------------------------------- incidents


@dataclass(frozen=True)
class Incident:
    """A window in which one system behind one flow is slow and failing."""

    flow: Flow
    system: str
    start_hour_utc: float
    duration_h: float
    transient_fail: float  # chance an attempt on `system` fails during the window
    persist: float  # chance that a retry fails again during the window
    slowdown: float  # attempt durations multiply by this
    backlog_growth: float  # queue wait grows by this many seconds per second of incident


WMS_OUTAGE = Incident(WAREHOUSE_DISPATCH, "wms", 10.0, 4.5, 0.45, 0.55, 8.0, 0.7)


@dataclass(frozen=True)
class Cutover:
    """A flow moves to a new version; one step's non-retryable failure rate changes with it."""

    flow: Flow
    new_version: str
    step_id: str
    fatal_fail_after: float
    hour_utc: int


# Version 2.0.0 of payment capture regresses: run failure rate goes from about 2 % to about 6 %.
PAYMENT_CAPTURE_V2 = Cutover(PAYMENT_CAPTURE, "2.0.0", "capture-payment", 0.058, 9)


@dataclass(frozen=True)
class ShadowRun:
    """Before the cutover, the new version runs in shadow mode beside the live one: the same
    business keys, its own runs (``execution_mode: shadow``), outputs compared, nothing acted on.
    Its bugs are planted: a share of its outputs differ from the live version's."""

    cutover: Cutover
    days_before_cutover: int
    output_fields: tuple[str, ...]  # fields of the run's event data it reports as outputs
    amount_off_by_a_cent: float  # share of shadow runs whose amount is 0.01 higher
    currency_lowercased: float  # share of shadow runs that report the currency in lower case


PAYMENT_CAPTURE_SHADOW = ShadowRun(
    PAYMENT_CAPTURE_V2, 3, ("amount", "currency", "payment_status"), 0.03, 0.01
)

# --------------------------------------------------------------------------------- statuses

# How each orchestrator spells the canonical statuses (kept as raw_status).
RAW_STATUS = {
    "workato": {
        "success": "succeeded",
        "failed": "failed",
        "timed_out": "failed",
        "skipped": "skipped",
    },
    "mulesoft": {
        "success": "COMPLETED",
        "failed": "FAILED",
        "timed_out": "TIMEOUT",
        "skipped": "SKIPPED",
    },
    "airflow": {
        "success": "success",
        "failed": "failed",
        "timed_out": "failed",
        "skipped": "skipped",
    },
    "n8n": {"success": "success", "failed": "error", "timed_out": "crashed", "skipped": "canceled"},
    "aws-lambda": {
        "success": "SUCCEEDED",
        "failed": "FAILED",
        "timed_out": "TIMED_OUT",
        "skipped": "ABORTED",
    },
    "zapier": {
        "success": "success",
        "failed": "error",
        "timed_out": "error",
        "skipped": "filtered",
    },
}
AIRFLOW_RETRY_STATUS = "up_for_retry"  # airflow's word for a failed try that will be retried

RUN_URL = {
    "workato": "https://app.workato.com/recipes/{flow_id}/job/{run_id}",
    "mulesoft": "https://anypoint.mulesoft.com/monitoring/apps/{flow_id}/transactions/{run_id}",
    "airflow": "https://airflow.acme.test/dags/{flow_id}/grid?dag_run_id={run_id}",
    "n8n": "https://acme.app.n8n.cloud/workflow/{flow_id}/executions/{run_id}",
    "aws-lambda": "https://console.aws.amazon.com/lambda/home#/functions/{flow_id}?request={run_id}",
    "zapier": "https://zapier.com/app/history/{flow_id}/{run_id}",
}
# A few airflow links carry basic-auth credentials, so URL scrubbing has something to do.
SECRET_RUN_URL = "https://admin:hunter2@airflow.acme.test/dags/{flow_id}/grid?dag_run_id={run_id}"
SECRET_URL_RATE = 0.004

# ----------------------------------------------------------------------------------- errors

RETRYABLE_ERRORS = ("http_503", "timeout", "rate_limited")
RETRYABLE_WEIGHTS = (0.45, 0.35, 0.20)
INCIDENT_ERROR_WEIGHTS = (0.5, 0.5, 0.0)  # an outage answers 503 or nothing at all
FATAL_ERROR = "validation_error"

ERROR_TEMPLATES = {
    "http_503": (
        "POST https://api.{system}.acme.test/v2/{path} returned 503 Service Unavailable",
        "upstream api.{system}.acme.test unavailable (503) after {ms} ms",
    ),
    "timeout": (
        "Read timed out after {ms} ms calling https://api.{system}.acme.test/v2/{path}",
        "deadline exceeded waiting for api.{system}.acme.test ({ms} ms)",
    ),
    "rate_limited": ("429 Too Many Requests from api.{system}.acme.test; retry after {seconds} s",),
    "validation_error": (
        "422 Unprocessable Entity: field 'amount' must be positive, got {amount}",
        "Field 'shipping_address.postcode' failed validation: expected 5 digits, got 'SW1A 1AA'",
        "schema validation failed at $.currency: 'XBT' is not one of ['EUR', 'USD', 'GBP']",
        "payment_method_token missing from request (required since API v2)",
    ),
}
# Messages that leak a credential: scrubbing must remove everything after the marker.
SECRET_ERROR_TEMPLATES = {
    "http_503": (
        "POST https://svc_{system}:hunter2@api.{system}.acme.test/v2/{path} "
        "returned 503 Service Unavailable",
    ),
    "timeout": ("Read timed out after {ms} ms; request headers: Authorization: Bearer {jwt}",),
    "rate_limited": (
        "429 Too Many Requests from https://api.{system}.acme.test/v2/{path}?api_key={api_key}",
    ),
    "validation_error": (
        "422 Unprocessable Entity from POST https://api.{system}.acme.test/v2/{path} "
        "(api_key={api_key}): field 'amount' must be positive",
    ),
}
SECRET_ERROR_RATE = 0.03
SECRET_MARKERS = ("hunter2", "sk_live_", "Bearer eyJ")
TIMEOUT_MS = 30_000

# ------------------------------------------------------------------------------ business data

REGIONS = ("EMEA", "AMER", "APAC")
REGION_WEIGHTS = (0.45, 0.40, 0.15)
CHANNELS = ("web", "partner", "direct")
ORDER_CHANNEL_WEIGHTS = (0.7, 0.2, 0.1)
QUOTE_CHANNEL_WEIGHTS = (0.1, 0.45, 0.45)
CURRENCY = {"EMEA": ("EUR", "EUR", "EUR", "GBP"), "AMER": ("USD",), "APAC": ("USD", "AUD")}
CITIES = {
    "EMEA": (
        ("Hauptstraße", "10115 Berlin", "DE"),
        ("Leopoldstraße", "80802 München", "DE"),
        ("Rue de Rivoli", "75001 Paris", "FR"),
        ("Bahnhofstrasse", "8001 Zürich", "CH"),
        ("Baker Street", "NW1 6XE London", "GB"),
        ("Keizersgracht", "1015 CJ Amsterdam", "NL"),
    ),
    "AMER": (
        ("Market Street", "San Francisco, CA 94105", "US"),
        ("Broadway", "New York, NY 10012", "US"),
        ("Congress Avenue", "Austin, TX 78701", "US"),
        ("Avenida Paulista", "01310-100 São Paulo", "BR"),
        ("Queen Street West", "Toronto, ON M5H 2M9", "CA"),
    ),
    "APAC": (
        ("George Street", "Sydney NSW 2000", "AU"),
        ("Orchard Road", "Singapore 238879", "SG"),
        ("Shibuya 2-chome", "Tokyo 150-0002", "JP"),
    ),
}
FIRST_NAMES = ("ana", "ben", "chen", "dara", "emil", "fatima", "gus", "hana", "ivan", "jo", "kai")
LAST_NAMES = ("meyer", "lopez", "tanaka", "okafor", "novak", "silva", "brown", "dubois", "kim")
CARRIERS = ("DHL", "UPS", "FedEx", "PostNL")
WAREHOUSES = ("DC-BER", "DC-RTM", "DC-NJ1", "DC-SYD")
TICKET_CATEGORIES_ORDER = ("where_is_my_order", "damaged_item", "billing", "refund_request")
TICKET_CATEGORIES_OTHER = ("account_access", "billing", "how_to", "feature_request")
PRIORITIES = ("low", "normal", "high", "urgent")
PRIORITY_WEIGHTS = (0.2, 0.5, 0.22, 0.08)
