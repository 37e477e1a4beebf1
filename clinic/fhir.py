"""The patient's records as a FHIR R4 collection Bundle, for a clinic's electronic record.

Last stage of the flow (… → record → **export**). Pure: records in, a JSON-ready dict out; the
caller gives the time stamp. The Bundle holds a pseudonymous Patient (the device's code, year of
birth only), the Device (this board and its software) and one Observation per scored trial: the
single-leg stand hold time under LOINC 66569-5 (the code is in the exercise registry), everything
else under this project's code system (``CODE_SYSTEM``), with each metric as a component in UCUM
units taken from the metric's name (``path_length_mm`` → mm). Tests validate it with
fhir.resources' R4B models.

The Device is named for the kind of device and its software only (``DEVICE_ID``): nothing of
the host (its name, its serial) that would tell one household's board from another's. Years of
trials are written one Observation at a time (``write_bundle``), in constant memory.

A trial made on the simulated board is an Observation of the simulated Device
(``SIMULATED_DEVICE_ID``, in the Bundle when such a trial is), with a note saying so: where FHIR
says what made an observation. Trials kept before the board was recorded are the board's.

Example::

    bundle = patient_bundle(store, "P-0001", device_version="0.1.0", now_iso=now)
    Path("bundle.json").write_text(json.dumps(bundle, indent=1))
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

from clinic.export import refuse_link
from device.files import written_whole
from exercises.registry import EXERCISES

CODE_SYSTEM = "https://github.com/balance-board/balance-board/codes"
IDENTIFIER_SYSTEM = "urn:balance-board:patient-code"
UCUM = "http://unitsofmeasure.org"
DEVICE_ID = "balance-board"  # the Device's id: the kind of device, the same on every board
SIMULATED_DEVICE_ID = "balance-board-simulated"  # the simulated board's trials: no person measured
SIMULATED_NOTE = "simulated board: not a measurement of a person"
SINGLE_LEG_LOINC = EXERCISES["flamingo"].standard_code.code

# metric-name endings → (UCUM code, human unit)
UNITS = (
    ("_mm_s", "mm/s", "mm/s"),
    ("_mm2", "mm2", "mm²"),
    ("_mm", "mm", "mm"),
    ("_s", "s", "s"),
    ("_pct", "%", "%"),
    ("_pct_bw", "%", "% body weight"),
    ("_hz", "Hz", "Hz"),
    ("_kg", "kg", "kg"),
)


def unit_of(metric: str) -> tuple[str, str]:
    """(UCUM code, display unit) for a metric name; counts are '1'."""
    for ending, code, display in sorted(UNITS, key=lambda u: -len(u[0])):
        if metric.endswith(ending):
            return code, display
    return "1", "count" if metric in ("reps", "touchdowns", "hand_supports") else "1"


def _id(text: str) -> str:
    """A FHIR id: letters, digits, '-' and '.', at most 64."""
    return re.sub(r"[^A-Za-z0-9\-.]", "-", text)[:64]


def _quantity(value: float, metric: str) -> dict:
    code, display = unit_of(metric)
    return {"value": round(float(value), 4), "unit": display, "system": UCUM, "code": code}


def patient_resource(patient) -> dict:
    resource = {
        "resourceType": "Patient",
        "id": _id(patient.code),
        "identifier": [{"system": IDENTIFIER_SYSTEM, "value": patient.code}],
        "active": True,
    }
    if patient.sex in ("female", "male", "other"):
        resource["gender"] = patient.sex
    if patient.birth_year:
        resource["birthDate"] = f"{patient.birth_year:04d}"  # the year only: pseudonymous
    return resource


def device_resource(device_id: str, version: str, *, simulated: bool = False) -> dict:
    """The board (4 load cells, HX711), or with ``simulated`` the simulated board (software)."""
    if simulated:
        name, kind = "Balance board, simulated", "Simulated force platform (software, no person)"
    else:
        name, kind = "Balance board (4 load cells, HX711)", "Force platform for posturography"
        kind += " (home balance board)"
    return {
        "resourceType": "Device",
        "id": _id(device_id),
        "deviceName": [{"name": name, "type": "model-name"}],
        "version": [{"value": version}],
        "type": {"text": kind},
    }


def trial_observation(trial, patient_id: str, device_id: str) -> dict | None:
    """An Observation for a complete, scored trial; None for the others."""
    if trial.status != "complete" or trial.score is None or not trial.result:
        return None
    metrics = trial.result.get("metrics", {})
    observation = {
        "resourceType": "Observation",
        "id": _id(f"trial-{trial.id}"),
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "exam",
                    }
                ]
            }
        ],
        "subject": {"reference": f"Patient/{patient_id}"},
        "device": {"reference": f"Device/{device_id}"},
        "effectiveDateTime": trial.started_at,
    }
    components = [
        {
            "code": {"coding": [{"system": CODE_SYSTEM, "code": "score", "display": "score"}]},
            "valueQuantity": {
                "value": round(trial.score, 1),
                "unit": "points",
                "system": UCUM,
                "code": "1",
            },
        }
    ]
    for name, value in sorted(metrics.items()):
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        components.append(
            {
                "code": {"coding": [{"system": CODE_SYSTEM, "code": name, "display": name}]},
                "valueQuantity": _quantity(value, name),
            }
        )
    spec = EXERCISES.get(trial.exercise)
    standard = spec.standard_code if spec else None
    if standard is not None and metrics.get(standard.metric) is not None:
        text = spec.title
        if trial.parameters.get("leg"):
            text += f" ({trial.parameters['leg']} leg)"
        observation["code"] = {
            "coding": [
                {"system": standard.system, "code": standard.code, "display": standard.display},
                {"system": CODE_SYSTEM, "code": trial.exercise},
            ],
            "text": text,
        }
        observation["valueQuantity"] = _quantity(metrics[standard.metric], standard.metric)
    else:
        observation["code"] = {
            "coding": [{"system": CODE_SYSTEM, "code": trial.exercise}],
            "text": trial.exercise,
        }
    observation["component"] = components
    quality = trial.result.get("quality", {}) or {}
    notes = (quality.get("warnings") or []) + (quality.get("sensor_faults") or [])
    if trial.result.get("flags"):
        notes.append("flags: " + ", ".join(trial.result["flags"]))
    if trial.result.get("lower_bounds"):
        notes.append(
            "lower bounds (the trial stopped first): " + ", ".join(trial.result["lower_bounds"])
        )
    if getattr(trial, "simulated", False):
        notes.insert(0, SIMULATED_NOTE)
    if notes:
        observation["note"] = [{"text": note} for note in notes]
    return observation


def _entries(store, code: str, device_id: str, device_version: str) -> Iterator[dict]:
    patient = store.patient(code)
    patient_entry = patient_resource(patient)
    device = device_resource(device_id, device_version)
    base = "urn:balance-board:"

    def entry(resource: dict) -> dict:
        return {
            "fullUrl": f"{base}{resource['resourceType']}/{resource['id']}",
            "resource": resource,
        }

    yield entry(patient_entry)
    yield entry(device)
    simulated_device_in = False  # the simulated Device goes in before its first Observation
    trials = (
        store.iter_trials(code, every_board=True)
        if hasattr(store, "iter_trials")
        else store.trials(code, every_board=True)
    )
    for trial in trials:
        simulated = getattr(trial, "simulated", False)
        made_by = _id(SIMULATED_DEVICE_ID) if simulated else device["id"]
        observation = trial_observation(trial, patient_entry["id"], made_by)
        if observation is None:
            continue
        if simulated and not simulated_device_in:
            yield entry(device_resource(SIMULATED_DEVICE_ID, device_version, simulated=True))
            simulated_device_in = True
        yield entry(observation)


def patient_bundle(
    store, code: str, *, device_id: str = DEVICE_ID, device_version: str, now_iso: str
) -> dict:
    """A collection Bundle: Patient, Device and an Observation per scored trial."""
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": now_iso,
        "entry": list(_entries(store, code, device_id, device_version)),
    }


def write_bundle(
    store,
    code: str,
    path: Path,
    *,
    device_id: str = DEVICE_ID,
    device_version: str,
    now_iso: str,
) -> int:
    """``patient_bundle`` as a JSON file (UTF-8), one entry at a time, written whole or not at
    all (a temporary name, one sync, a rename); returns the number of entries."""
    head = json.dumps({"resourceType": "Bundle", "type": "collection", "timestamp": now_iso})
    count = 0
    with written_whole(refuse_link(path)) as f:  # never through a link planted at its name
        f.write(head[:-1] + ', "entry": [\n')
        for entry in _entries(store, code, device_id, device_version):
            f.write(",\n" if count else "")
            f.write(json.dumps(entry, indent=1, ensure_ascii=False))
            count += 1
        f.write("\n]}\n")
    return count
