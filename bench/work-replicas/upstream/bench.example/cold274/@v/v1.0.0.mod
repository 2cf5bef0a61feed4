module bench.example/cold274

go 1.21
