import { isAddressEqual, type Address } from "viem";
import { EXCHANGE_DOMAIN_NAME, EXCHANGE_DOMAIN_VERSION, exchangeDomain, type ExchangeDomain } from "../eip712";
import { DomainError } from "../errors";
import { readContract } from "viem/actions";
import { exchangeAbi } from "../generated/exchangeAbi";
import { reading, type ReadClient } from "./internal";

/** The parameters of `getExchangeDomain`. */
export interface GetExchangeDomainParameters {
  /** The Exchange's address. */
  exchange: Address;
}

/** The Exchange's EIP-712 domain. */
export type GetExchangeDomainReturnType = ExchangeDomain;

/**
 * Reads the EIP-712 domain of the Exchange at `exchange` from the contract itself (ERC-5267
 * `eip712Domain()`): the domain to hash and sign its orders with. Throws a `DomainError`
 * (`DOMAIN_MISMATCH`) when the contract is not a Crossbook Exchange of this version.
 *
 * @example
 * import { createPublicClient, http } from "viem";
 * import { hardhat } from "viem/chains";
 * import { getExchangeDomain } from "@crossbook/sdk";
 * const client = createPublicClient({ chain: hardhat, transport: http() });
 * const domain = await getExchangeDomain(client, { exchange: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707" });
 * // { name: "Crossbook", version: "1", chainId: 31337n, verifyingContract: "0x9fE4…a6e0" }
 */
export async function getExchangeDomain(
  client: ReadClient,
  parameters: GetExchangeDomainParameters,
): Promise<GetExchangeDomainReturnType> {
  const [, name, version, chainId, verifyingContract] = await reading("eip712Domain", () =>
    readContract(client, { address: parameters.exchange, abi: exchangeAbi, functionName: "eip712Domain" }),
  );
  if (
    name !== EXCHANGE_DOMAIN_NAME ||
    version !== EXCHANGE_DOMAIN_VERSION ||
    !isAddressEqual(verifyingContract, parameters.exchange)
  ) {
    throw new DomainError(
      `The contract at ${parameters.exchange} is not a Crossbook Exchange (its EIP-712 domain is "${name}" version "${version}")`,
      { code: "DOMAIN_MISMATCH", details: { name, version, verifyingContract } },
    );
  }
  return exchangeDomain({ chainId, verifyingContract });
}
