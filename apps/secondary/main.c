/* SPDX-License-Identifier: BSD-3-Clause */
/* hotport-secondary: a worker that maps the primary's memory and asks it for hotplug. */
#include "app.h"

int main(int argc, char **argv)
{
	return app_main(HP_ROLE_SECONDARY, argc, argv);
}
