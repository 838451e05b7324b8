"""Verified reports: report.html / report.pdf, the signed data package, and `verify`."""

from reports.build import ReportResult, build_report
from reports.signing import public_key_pem
from reports.verify import VerifyResult, verify_package

__all__ = ["ReportResult", "VerifyResult", "build_report", "public_key_pem", "verify_package"]
