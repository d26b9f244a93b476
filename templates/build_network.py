"""Where builds run: a VPC of public subnets in the availability zones chosen at setup, and the Batch
queue over Fargate compute environments in them.

The zones are the `BuildSubnetZones` parameter, not `Fn::GetAZs`: an account may see only two zones in
a region, and Fargate is not offered in every zone, neither of which a template can find out. The CLI's
preflight picks two or three zones that offer Fargate (`battleshiper_cli/zones.py`); the third subnet
exists only when a third zone is given."""

from __future__ import annotations

from troposphere import Equals, If, Join, Not, Ref, Select, Split, Tags, Template
from troposphere.batch import (
    ComputeEnvironment,
    ComputeEnvironmentOrder,
    ComputeResources,
    JobQueue,
    JobStateTimeLimitAction,
)
from troposphere.ec2 import (
    VPC,
    InternetGateway,
    Route,
    RouteTable,
    SecurityGroup,
    SecurityGroupRule,
    Subnet,
    SubnetRouteTableAssociation,
    VPCGatewayAttachment,
)

from templates import ids
from templates.config import PlatformConfig
from templates.parameters import PARAM_BUILD_ZONES

VPC_CIDR = "10.120.0.0/16"
VPC_RESOLVER = "10.120.0.2/32"  # the Amazon resolver sits at the VPC base address + 2
SUBNET_CIDRS = ("10.120.110.0/24", "10.120.120.0/24", "10.120.130.0/24")
REQUIRED_ZONES = 2  # the first two subnets always exist; the others only with a zone of their own
THIRD_ZONE = "HasThirdBuildZone"
# Jobs waiting this long for capacity are cancelled rather than left to build hours later.
RUNNABLE_TIMEOUT_SECONDS = 600
RUNNABLE_CANCEL_REASON = "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY"  # one of AWS's predefined reasons


def zone(index: int) -> Select:
    """The index-th zone of the parameter, or "" past its end: Fn::Select fails out of range, so the list
    is padded with empty entries first (CloudFormation cannot count a list's elements)."""
    padded = Split(",", Join("", [Join(",", Ref(PARAM_BUILD_ZONES)), "," * (len(SUBNET_CIDRS) - 1)]))
    return Select(index, padded)


def add_network(t: Template, config: PlatformConfig) -> tuple[list[Subnet], SecurityGroup]:
    """A VPC of public subnets only: builds reach GitHub and npm through the internet gateway (public
    task addresses), nothing reaches them."""
    vpc = t.add_resource(VPC("BuildVpc", CidrBlock=VPC_CIDR, EnableDnsSupport=True, EnableDnsHostnames=True,
                             Tags=Tags(Name=f"{config.stack_name}-build")))
    gateway = t.add_resource(InternetGateway("BuildInternetGateway"))
    attachment = t.add_resource(VPCGatewayAttachment("BuildGatewayAttachment", VpcId=Ref(vpc),
                                                     InternetGatewayId=Ref(gateway)))
    table = t.add_resource(RouteTable("BuildRouteTable", VpcId=Ref(vpc)))
    # The route needs the attached gateway (reference defect 74).
    t.add_resource(Route("BuildInternetRoute", RouteTableId=Ref(table), DestinationCidrBlock="0.0.0.0/0",
                         GatewayId=Ref(gateway), DependsOn=attachment))
    t.add_condition(THIRD_ZONE, Not(Equals(zone(2), "")))
    subnets = []
    for index, cidr in enumerate(SUBNET_CIDRS):
        condition = {} if index < REQUIRED_ZONES else {"Condition": THIRD_ZONE}
        subnet = t.add_resource(Subnet(f"BuildSubnet{index + 1}", VpcId=Ref(vpc), CidrBlock=cidr,
                                       AvailabilityZone=zone(index), MapPublicIpOnLaunch=False, **condition))
        t.add_resource(SubnetRouteTableAssociation(f"BuildSubnet{index + 1}RouteTableAssociation",
                                                   SubnetId=Ref(subnet), RouteTableId=Ref(table),
                                                   **condition))
        subnets.append(subnet)
    # No ingress. Egress (reference defect 12): HTTPS for git and npm, HTTP for the registries and mirrors
    # some install scripts still use, DNS only to the VPC resolver so public resolvers cannot serve as a
    # tunnel (the Amazon resolver is not filtered by security groups; the rule records the intent).
    egress = [
        SecurityGroupRule(IpProtocol=protocol, FromPort=port, ToPort=port, CidrIp=cidr, Description=what)
        for protocol, port, cidr, what in (("tcp", 443, "0.0.0.0/0", "HTTPS"),
                                           ("tcp", 80, "0.0.0.0/0", "HTTP"),
                                           ("udp", 53, VPC_RESOLVER, "DNS"),
                                           ("tcp", 53, VPC_RESOLVER, "DNS"))
    ]
    group = t.add_resource(SecurityGroup(
        "BuildSecurityGroup", GroupName=config.names.build_security_group, VpcId=Ref(vpc),
        GroupDescription="Build jobs: no ingress; egress HTTPS, HTTP and DNS only",
        SecurityGroupEgress=egress,
    ))
    return subnets, group


def subnet_refs(subnets: list[Subnet]) -> list[object]:
    """The subnets that exist: a conditional one drops out of the list when its condition is false."""
    return [Ref(s) if s.resource.get("Condition") is None
            else If(s.resource["Condition"], Ref(s), Ref("AWS::NoValue")) for s in subnets]


def add_batch(t: Template, config: PlatformConfig, subnets: list[Subnet], group: SecurityGroup) -> JobQueue:
    """Fargate Spot first, on-demand Fargate when Spot has no capacity (reference defect 45). The
    compute environments keep generated names so that CloudFormation can replace them."""
    def environment(logical_id: str, capacity: str) -> ComputeEnvironment:
        return t.add_resource(ComputeEnvironment(
            logical_id, Type="MANAGED", State="ENABLED",
            ComputeResources=ComputeResources(
                Type=capacity, MaxvCpus=config.build_max_vcpus,
                Subnets=subnet_refs(subnets), SecurityGroupIds=[Ref(group)],
            ),
            Tags={config.names.stack_tag: config.stack_name},
        ))

    spot = environment("BuildComputeEnvironmentSpot", "FARGATE_SPOT")
    on_demand = environment("BuildComputeEnvironmentOnDemand", "FARGATE")
    return t.add_resource(JobQueue(
        ids.BUILD_QUEUE, JobQueueName=config.names.job_queue, State="ENABLED", Priority=1,
        ComputeEnvironmentOrder=[
            ComputeEnvironmentOrder(Order=1, ComputeEnvironment=Ref(spot)),
            ComputeEnvironmentOrder(Order=2, ComputeEnvironment=Ref(on_demand)),
        ],
        JobStateTimeLimitActions=[JobStateTimeLimitAction(
            Action="CANCEL", State="RUNNABLE", MaxTimeSeconds=RUNNABLE_TIMEOUT_SECONDS,
            Reason=RUNNABLE_CANCEL_REASON,
        )],
    ))
