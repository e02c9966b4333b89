"""The current second-factor code of a demo user: the demo's stand-in for the phone app.
Only devices the demo made (demo.county.DEMO_DEVICE) are read; nobody else's."""

from django.core.management.base import BaseCommand, CommandError
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from demo.county import DEMO_DEVICE


class Command(BaseCommand):
    help = "Print the current six-digit code of a demo user's authenticator."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username: str, **options):
        device = TOTPDevice.objects.filter(user__username=username, name=DEMO_DEVICE,
                                           confirmed=True).first()
        if device is None:
            raise CommandError(f"{username} has no demo authenticator (only the demo's administrator "
                               "and county office have one)")
        code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
        self.stdout.write(f"{code:0{device.digits}d}")
