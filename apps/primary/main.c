/* SPDX-License-Identifier: BSD-3-Clause */
/* hotport-primary: owns the shared memory and the ports, serves hotplug. */
#include "app.h"

int main(int argc, char **argv)
{
	return app_main(HP_ROLE_PRIMARY, argc, argv);
}
