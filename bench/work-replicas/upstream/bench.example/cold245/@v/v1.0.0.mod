module bench.example/cold245

go 1.21
