package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/gguftool/gguftool/cuda"
	"github.com/spf13/cobra"
)

func init() { register(newDevicesCmd) }

// devicesReport is the --json form of `gguftool devices`.
type devicesReport struct {
	Driver  string            `json:"driver_version,omitempty"`
	Devices []cuda.DeviceInfo `json:"devices"`
	// Reason says why Devices is empty (no driver, no GPU).
	Reason string `json:"reason,omitempty"`
}

func newDevicesCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "devices",
		Short: "List the NVIDIA GPUs gguftool can use",
		Long: `List the NVIDIA GPUs that the CUDA driver (libcuda.so.1, loaded at run time) sees:
name, memory, compute capability and driver version.

Without a usable GPU the command still succeeds (exit 0) and says why there is none:
no NVIDIA driver installed (libcuda.so.1 not found), or a driver without a GPU.
gguftool then runs everything except GPU execution on the CPU.`,
		Example: `  gguftool devices
  gguftool devices --json | jq '.devices[].total_memory_bytes'`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			rep := listDevices()
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), rep)
			}
			printDevices(cmd.OutOrStdout(), rep)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func listDevices() devicesReport {
	rep := devicesReport{Devices: []cuda.DeviceInfo{}}
	d, err := cuda.Open()
	if err != nil {
		rep.Reason = deviceReason(err)
		return rep
	}
	rep.Driver, _ = d.Version()
	devs, err := d.Devices()
	if err != nil {
		rep.Reason = deviceReason(err)
		return rep
	}
	if len(devs) == 0 {
		rep.Reason = "the NVIDIA driver reports no GPU"
	}
	rep.Devices = devs
	return rep
}

func deviceReason(err error) string {
	switch {
	case errors.Is(err, cuda.ErrNoDriver):
		return err.Error()
	case errors.Is(err, cuda.ErrNoDevice):
		return "the NVIDIA driver is installed but sees no GPU (" + err.Error() + ")"
	}
	return "the CUDA driver failed: " + err.Error()
}

func printDevices(w io.Writer, rep devicesReport) {
	if len(rep.Devices) == 0 {
		fmt.Fprintf(w, "no GPU: %s\ngguftool will run on the CPU only.\n", rep.Reason)
		return
	}
	fmt.Fprintf(w, "CUDA driver %s\n", rep.Driver)
	for _, d := range rep.Devices {
		fmt.Fprintf(w, "GPU %d: %s, %.1f GiB, compute capability %s, %d SMs", d.Ordinal, d.Name,
			float64(d.TotalMemory)/(1<<30), d.ComputeCapability(), d.Multiprocessors)
		if d.PCIBusID != "" {
			fmt.Fprintf(w, ", PCI %s", d.PCIBusID)
		}
		fmt.Fprintln(w)
	}
}
