import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { erc20Abi, type Address } from "viem";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import {
  ContractRevertError,
  deposit,
  getBalance,
  getWithdrawalRequest,
  parseAmount,
  requestWithdraw,
  withdraw,
} from "@crossbook/sdk";
import { fundedLocalAccount, mint, publicClient, sdkFixture, walletClient } from "../support";

const USDC = (amount: string) => parseAmount({ amount, decimals: 6 });

async function revertOf(promise: Promise<unknown>): Promise<ContractRevertError> {
  const error = await promise.then(
    () => expect.fail("expected a revert"),
    (e: unknown) => e,
  );
  expect(error).to.be.instanceOf(ContractRevertError);
  return error as ContractRevertError;
}

describe("sdk/actions: deposit, getBalance, requestWithdraw, getWithdrawalRequest, withdraw", function () {
  it("deposit approves exactly the amount, deposits it, and getBalance reads it; a request and, after the delay, withdraw give it back", async function () {
    const env = await loadFixture(sdkFixture);
    const { exchange, quote } = env.addresses;
    const account = await fundedLocalAccount();
    const client = walletClient(account);
    await mint(env.quote, account.address, USDC("1000"));

    const { approvalHash, hash } = await deposit(client, { exchange, token: quote, amount: USDC("250.5") });
    expect(approvalHash).to.be.a("string");
    expect((await publicClient.waitForTransactionReceipt({ hash })).status).to.equal("success");
    expect(await getBalance(publicClient, { exchange, account: account.address, token: quote })).to.equal(
      USDC("250.5"),
    );
    expect(
      await publicClient.readContract({
        address: quote,
        abi: erc20Abi,
        functionName: "allowance",
        args: [account.address, exchange],
      }),
    ).to.equal(0n);

    const receipt = await publicClient.waitForTransactionReceipt({
      hash: await requestWithdraw(client, { exchange, token: quote, amount: USDC("50.5") }),
    });
    const effectiveAt = (await publicClient.getBlock({ blockNumber: receipt.blockNumber })).timestamp + 30n;
    const request = () => getWithdrawalRequest(publicClient, { exchange, account: account.address, token: quote });
    expect(await request()).to.deep.equal({ amount: USDC("50.5"), effectiveAt });
    const early = await revertOf(withdraw(client, { exchange, token: quote, amount: USDC("50.5") }));
    expect(early.errorName).to.equal("WithdrawalNotYetEffective");
    expect(early.namedArgs).to.deep.equal({ token: quote, effectiveAt });

    await time.increaseTo(effectiveAt);
    await publicClient.waitForTransactionReceipt({
      hash: await withdraw(client, { exchange, token: quote, amount: USDC("50.5") }),
    });
    expect(await getBalance(publicClient, { exchange, account: account.address, token: quote })).to.equal(USDC("200"));
    expect(await env.quote.balanceOf(account.address)).to.equal(USDC("800"));
    expect(await request()).to.deep.equal({ amount: 0n, effectiveAt });
  });

  it("deposit skips the approval when the allowance already covers the amount", async function () {
    const env = await loadFixture(sdkFixture);
    const { exchange, quote } = env.addresses;
    await mint(env.quote, env.alice.address as Address, USDC("10"));
    await (await env.quote.connect(env.alice).approve(exchange, USDC("10"))).wait();
    const client = walletClient(env.alice.address as Address); // a JSON-RPC account of the node
    const { approvalHash, hash } = await deposit(client, { exchange, token: quote, amount: USDC("10") });
    expect(approvalHash).to.equal(undefined);
    await publicClient.waitForTransactionReceipt({ hash });
    expect(await getBalance(publicClient, { exchange, account: env.alice.address as Address, token: quote })).to.equal(
      USDC("10"),
    );
  });

  it("withdraw without a request throws WithdrawalExceedsRequest; beyond the balance, InsufficientBalance with the token, what is available and what was asked", async function () {
    const env = await loadFixture(sdkFixture);
    const { exchange, quote } = env.addresses;
    const account = await fundedLocalAccount();
    const client = walletClient(account);
    const none = await revertOf(withdraw(client, { exchange, token: quote, amount: 5n }));
    expect(none.namedArgs).to.deep.equal({ token: quote, requested: 0n, amount: 5n });
    await publicClient.waitForTransactionReceipt({
      hash: await requestWithdraw(client, { exchange, token: quote, amount: 5n }),
    });
    await time.increase(30);
    const error = await revertOf(withdraw(client, { exchange, token: quote, amount: 5n }));
    expect(error.code).to.equal("CONTRACT_REVERT");
    expect(error.errorName).to.equal("InsufficientBalance");
    expect(error.args).to.deep.equal([quote, 0n, 5n]);
    expect(error.namedArgs).to.deep.equal({ token: quote, available: 0n, requested: 5n });
    expect(error.message).to.equal(
      `withdraw reverted: InsufficientBalance(token: ${quote}, available: 0, requested: 5)`,
    );
  });

  it("deposit of zero throws ZeroAmount; of more than the sender holds, the token's ERC20InsufficientBalance", async function () {
    const env = await loadFixture(sdkFixture);
    const { exchange, quote } = env.addresses;
    const account = await fundedLocalAccount();
    const client = walletClient(account);
    expect((await revertOf(deposit(client, { exchange, token: quote, amount: 0n }))).errorName).to.equal("ZeroAmount");
    const error = await revertOf(deposit(client, { exchange, token: quote, amount: 7n }));
    expect(error.errorName).to.equal("ERC20InsufficientBalance");
    expect(error.namedArgs).to.deep.equal({ sender: account.address, balance: 0n, needed: 7n });
  });

  it('deposit with approve "none" and no allowance throws the token\'s ERC20InsufficientAllowance', async function () {
    const env = await loadFixture(sdkFixture);
    const { exchange, quote } = env.addresses;
    const account = await fundedLocalAccount();
    await mint(env.quote, account.address, 7n);
    const error = await revertOf(
      deposit(walletClient(account), { exchange, token: quote, amount: 7n, approve: "none" }),
    );
    expect(error.errorName).to.equal("ERC20InsufficientAllowance");
    expect(error.namedArgs).to.deep.equal({ spender: exchange, allowance: 0n, needed: 7n });
  });
});
