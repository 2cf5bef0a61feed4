module bench.example/cold213

go 1.21
